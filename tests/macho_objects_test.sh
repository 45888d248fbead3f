#!/usr/bin/env bash
# Apple M2 kernels cannot run here; check what can be checked of the bundle's
# objects: Mach-O arm64 format, exported entry points exactly the kernels the
# bundle's manifest lists (each with its argv wrapper), dot-product
# instructions in tmad kernels, and a Mach-O Halide runtime alongside.
#   macho_objects_test.sh <llvm-objdump> <llvm-nm> <bundle dir> <halide runtime object>
set -euo pipefail
objdump=$1 nm=$2 dir=$3 runtime=$4
manifest=$dir/manifest.cpp
fail=0 passed=0
check() {  # check <ok> <message>
    if [[ $1 == 1 ]]; then passed=$((passed + 1)); else echo "FAIL $2"; fail=$((fail + 1)); fi
}
is_arm64_macho() {
    local header
    header=$("$objdump" --macho --private-header "$1")
    grep -q "MH_MAGIC_64" <<<"$header" && grep -q "ARM64" <<<"$header"
}

# Manifest rows: {"<kernel>", "<family>", ..., &<symbol>_argv, "<symbol>"},
rows=$(grep -E '^    \{"[a-z0-9_]+", "[a-z0-9_]+",' "$manifest" |
       sed -E 's/^    \{"([a-z0-9_]+)", "([a-z0-9_]+)",.*"([a-z0-9_]+)"\},$/\1 \2 \3/')
[[ -n $rows ]] || { echo "FAIL: no kernels in $manifest"; exit 1; }
entries=""
while read -r kernel family symbol; do
    obj=$dir/$symbol.o
    is_arm64_macho "$obj" && ok=1 || ok=0
    check $ok "$kernel: $obj is not a 64-bit arm64 Mach-O object"
    symbols=$("$nm" --defined-only "$obj" | awk '$2 == "T" {print $3}')
    for s in "_$symbol" "_${symbol}_argv"; do
        grep -qx "$s" <<<"$symbols" && ok=1 || ok=0
        check $ok "$kernel: $obj does not export $s"
    done
    # Besides the kernels: Halide's parallel-loop bodies, and the helpers of
    # table_lookup.h and cache_prefetch.h (weak, hidden, inlined where used; one
    # copy per object).
    entries+=$(grep -vE '_(argv|metadata)$|_par_for_|^_tern_lut16x[0-9]+$|^_tern_prefetch$' <<<"$symbols" || true)$'\n'
    if [[ $family == tmad ]]; then
        n=$("$objdump" -d --mattr=+dotprod "$obj" | grep -c $'\tsdot' || true)
        ((n >= 4)) && ok=1 || ok=0
        check $ok "$kernel: $n sdot instructions"
    fi
done <<<"$rows"

want=$(awk '{print "_" $3}' <<<"$rows" | sort)
got=$(sed '/^$/d' <<<"$entries" | sort)
[[ "$want" == "$got" ]] && ok=1 || ok=0
check $ok "exported entry points differ from the manifest: $(diff <(echo "$want") <(echo "$got") || true)"
is_arm64_macho "$runtime" && ok=1 || ok=0
check $ok "$runtime is not a 64-bit arm64 Mach-O object"
echo "$passed passed, $fail failed"
((fail == 0))
