#!/usr/bin/env bash
# A bundle may only use instructions of the CPU features its target names. Halide
# 14 compiles avx512_sapphirerapids for LLVM's CPU "sapphirerapids", which also
# has AVX-VNNI, AMX and AVX512-FP16; CPUs with AVX512-VNNI alone (Ice Lake, Zen 4,
# some Zen 5 VMs) fault on those (SIGILL). This scans the disassembly for them.
#   bundle_isa_test.sh <llvm-objdump> <bundle archive>
set -euo pipefail
objdump=$1 archive=$2
[[ -f $archive ]] || { echo "FAIL: no bundle archive $archive"; exit 1; }
listing=$("$objdump" -d --no-show-raw-insn "$archive")
total=$(grep -cP '^\s+[0-9a-f]+:\s' <<<"$listing" || true)
[[ $total -gt 1000 ]] || { echo "FAIL: only $total instructions disassembled from $archive"; exit 1; }
# {vex} vpdp*: AVX-VNNI; t*/ldtilecfg: AMX; *ph / *sh arithmetic on halves: AVX512-FP16.
bad=$(grep -P '\{vex\}\s*vpdp|\s(ldtilecfg|sttilecfg|tileloadd\w*|tilestored|tdpb\w+|tilezero)\s|\sv(add|sub|mul|div|fmadd\d+|fnmadd\d+)(ph|sh)\s' <<<"$listing" || true)
if [[ -n $bad ]]; then
    echo "FAIL: $archive uses instructions outside its target's CPU features:"
    head -20 <<<"$bad"
    exit 1
fi
echo "ok: $total instructions in $archive, none from AVX-VNNI, AMX or AVX512-FP16"
