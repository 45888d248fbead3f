#!/usr/bin/env bash
# A bundle may only use instructions of the CPU features its target names.
#   bundle_isa_test.sh <llvm-objdump> <bundle archive> avx512-vnni
#   bundle_isa_test.sh <llvm-objdump> <bundle archive> avx-vnni
# avx512-vnni: Halide 14 compiles avx512_sapphirerapids for LLVM's CPU
# "sapphirerapids", which also has AVX-VNNI, AMX and AVX512-FP16; CPUs with
# AVX512-VNNI alone (Ice Lake, Zen 4, some Zen 5 VMs) fault on those (SIGILL).
# avx-vnni: the bundle for CPUs with AVX-VNNI and no AVX-512 (Alder Lake and
# later client CPUs) must hold no EVEX instruction at all (no zmm, no mask
# registers, no AVX-512 forms on ymm), and must reach vpdpbusd as VEX on ymm.
set -euo pipefail
objdump=$1 archive=$2 mode=$3
[[ -f $archive ]] || { echo "FAIL: no bundle archive $archive"; exit 1; }
listing=$("$objdump" -d "$archive")
total=$(grep -cP '^\s+[0-9a-f]+:\s' <<<"$listing" || true)
[[ $total -gt 1000 ]] || { echo "FAIL: only $total instructions disassembled from $archive"; exit 1; }
case $mode in
avx512-vnni)
    # {vex} vpdp*: AVX-VNNI; t*/ldtilecfg: AMX; *ph / *sh arithmetic on halves: AVX512-FP16.
    bad=$(grep -P '\{vex\}\s*vpdp|\s(ldtilecfg|sttilecfg|tileloadd\w*|tilestored|tdpb\w+|tilezero)\s|\sv(add|sub|mul|div|fmadd\d+|fnmadd\d+)(ph|sh)\s' <<<"$listing" || true)
    what="AVX-VNNI, AMX or AVX512-FP16"
    ;;
avx-vnni)
    # An EVEX instruction starts with the byte 0x62 (BOUND, invalid in 64-bit
    # mode, so nothing else does); registers 16-31 and k0-k7 exist only with EVEX.
    bad=$(grep -P '^\s+[0-9a-f]+:\s+62 |%zmm|%[xy]mm(1[6-9]|2\d|3[01])\b|%k[0-7]\b' <<<"$listing" || true)
    what="AVX-512 (EVEX)"
    dots=$(grep -cP '\{vex\}\s*vpdpbusd\s+%ymm\d+, %ymm\d+, %ymm\d+' <<<"$listing" || true)
    [[ $dots -gt 0 ]] || { echo "FAIL: $archive has no VEX vpdpbusd on ymm"; exit 1; }
    ;;
*)
    echo "usage: bundle_isa_test.sh <llvm-objdump> <archive> avx512-vnni|avx-vnni"
    exit 2
    ;;
esac
if [[ -n $bad ]]; then
    echo "FAIL: $archive uses instructions outside its target's CPU features ($what):"
    head -20 <<<"$bad"
    exit 1
fi
echo "ok: $total instructions in $archive, none from $what${dots:+; $dots VEX vpdpbusd on ymm}"
