#!/usr/bin/env bash
# Apple M2 kernels cannot run here; check what can be checked of their objects:
# Mach-O arm64 format, exported entry points exactly the kernels the schedule
# database names (with their argv wrappers), and dot-product instructions in tmad.
#   macho_objects_test.sh <llvm-objdump> <llvm-nm> <dir> <kernel>...
set -euo pipefail
objdump=$1 nm=$2 dir=$3
shift 3
fail=0 passed=0
entries=""
for k in "$@"; do
    obj=$dir/$k.o
    header=$("$objdump" --macho --private-header "$obj")
    if grep -q "MH_MAGIC_64" <<<"$header" && grep -q "ARM64" <<<"$header"; then
        passed=$((passed + 1))
    else
        echo "FAIL $k: not a 64-bit arm64 Mach-O object"; fail=$((fail + 1))
    fi
    symbols=$("$nm" --defined-only "$obj" | awk '$2 == "T" {print $3}')
    for s in "_$k" "_${k}_argv"; do
        grep -qx "$s" <<<"$symbols" || { echo "FAIL $k: no exported $s"; fail=$((fail + 1)); }
    done
    entries+=$(grep -vE '_(argv|metadata)$|_par_for_' <<<"$symbols" || true)$'\n'
    if [[ $k == tmad_* ]]; then
        n=$("$objdump" -d --mattr=+dotprod "$obj" | grep -c $'\tsdot' || true)
        if ((n >= 4)); then passed=$((passed + 1)); else echo "FAIL $k: $n sdot instructions"; fail=$((fail + 1)); fi
    fi
done
want=$(printf '_%s\n' "$@" | sort)
got=$(sed '/^$/d' <<<"$entries" | sort)
if [[ "$want" == "$got" ]]; then passed=$((passed + 1)); else
    echo "FAIL exported entry points differ from the schedule database:"; diff <(echo "$want") <(echo "$got") || true
    fail=$((fail + 1))
fi
echo "$passed passed, $fail failed"
((fail == 0))
