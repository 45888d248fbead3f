#!/usr/bin/env bash
# Bad targets and schedule databases stop the configure step with an error
# that names the file, the line and the entry at fault.
#   configure_errors_test.sh <source dir> <work dir>
set -euo pipefail
src=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
fail=0 passed=0

# expect_error <name> <expected message fragment> <cmake -D arguments...>
expect_error() {
    local name=$1 want=$2
    shift 2
    if cmake -S "$src" -B "$work/$name" -DTERN_BUILD_TESTS=OFF -DTERN_BUILD_BENCH=OFF "$@" \
        > "$work/$name.log" 2>&1; then
        echo "FAIL $name: configure succeeded"; fail=$((fail + 1)); return
    fi
    # CMake wraps long messages; compare with line breaks and indentation folded.
    if tr -s ' \n' ' ' < "$work/$name.log" | grep -qF -- "$want"; then
        echo "ok   $name"; passed=$((passed + 1))
    else
        echo "FAIL $name: expected '$want' in:"; cat "$work/$name.log"; fail=$((fail + 1))
    fi
}

defaults=$src/schedules/x86-64-avx2.yaml
line_of() { grep -n -m1 -- "$1" "$2" | cut -d: -f1; }

expect_error unknown_target "unknown tern target 'x86-64-sse9': there is no targets/x86-64-sse9.yaml" \
    "-DTERN_TARGETS=host;x86-64-sse9"

expect_error wrong_target "arm-64-osx-m2.yaml: database is for target 'arm-64-osx-m2', but TERN_SCHEDULES gives it for 'x86-64-avx2'" \
    -DTERN_TARGETS=host "-DTERN_SCHEDULES=x86-64-avx2=$src/schedules/arm-64-osx-m2.yaml"

expect_error target_not_built "database is for target 'arm-64-osx-m2', which this build does not include" \
    -DTERN_TARGETS=host "-DTERN_SCHEDULES=$src/schedules/arm-64-osx-m2.yaml"

sed '0,/family: tadd/s//family: taddd/' "$defaults" > "$work/unknown_family.yaml"
n=$(line_of "family: taddd" "$work/unknown_family.yaml")
expect_error unknown_family "unknown_family.yaml:$n: kernel 'tadd_gemv': 'taddd' is not a tern generator" \
    -DTERN_TARGETS=host "-DTERN_SCHEDULES=$work/unknown_family.yaml"

sed '0,/{lanes: 16/s//{lane: 16/' "$defaults" > "$work/unknown_knob.yaml"
n=$(line_of "lane: 16" "$work/unknown_knob.yaml")
expect_error unknown_knob "unknown_knob.yaml:$n: kernel 'tadd_gemv': generator tadd has no knob 'lane'" \
    -DTERN_TARGETS=host "-DTERN_SCHEDULES=$work/unknown_knob.yaml"

sed '0,/- {name: tadd_gemv, /s//- {name: tadd_gemv /' "$defaults" > "$work/malformed.yaml"
n=$(line_of "name: tadd_gemv " "$work/malformed.yaml")
expect_error malformed_entry "malformed.yaml:$n: expected '- {name: <kernel>, family: <family>" \
    -DTERN_TARGETS=host "-DTERN_SCHEDULES=$work/malformed.yaml"

echo "$passed passed, $fail failed"
((fail == 0))
