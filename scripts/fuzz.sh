#!/usr/bin/env bash
# Runs tern's libFuzzer targets (fuzz/), each for the given time, and reports
# executions, coverage and corpus size per target. A crash, leak, timeout or
# out-of-memory leaves its input in fuzz/crashes/ with the command that
# reproduces it, and the script exits non-zero.
#
#   scripts/fuzz.sh [options] [seconds] [target...]      (default: 60 s, every target)
#     --runs N        stop each target after N executions instead (seconds, if given, still caps it)
#     --build DIR     a build configured with TERN_BUILD_FUZZ (default: build-sanitize,
#                     configured here with clang-14, ASan+UBSan, and built if needed)
#     --work DIR      corpora and logs (default: <build>/fuzz/work); corpora grow across runs
#     --parallel N    targets run at once (default 1)
#     --report        only print the table of the last runs in the work directory
#
# Targets: gguf_file gguf_model tokenizer schedule_db target_file server_request safetensors.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build="$src/build-sanitize" work="" parallel=1 seconds="" runs="" report_only=0 targets=()
while (($#)); do
    case $1 in
        --build) build=$(realpath -m "$2"); shift 2 ;;
        --work) work=$(realpath -m "$2"); shift 2 ;;
        --parallel) parallel=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --report) report_only=1; shift ;;
        -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        [0-9]*) seconds=$1; shift ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[[ -n $seconds || -n $runs ]] || seconds=60
all=(gguf_file gguf_model tokenizer schedule_db target_file server_request safetensors)
((${#targets[@]})) || targets=("${all[@]}")
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (known: ${all[*]})" >&2; exit 2; }
done
work=${work:-$build/fuzz/work}
crashes="$src/fuzz/crashes"

build_targets() {
    # The sanitizer build (scripts/setup.sh --sanitize): clang with ASan+UBSan and
    # coverage, host bundles only; the Halide generators are built unsanitized.
    if [[ ! -f $build/CMakeCache.txt ]]; then
        echo "fuzz.sh: configuring and building $build (clang-14, AddressSanitizer + UndefinedBehaviorSanitizer, libFuzzer)"
        "$src/scripts/setup.sh" --sanitize "$build" > "${TMPDIR:-/tmp}/tern-fuzz-setup.log" 2>&1 ||
            { tail -30 "${TMPDIR:-/tmp}/tern-fuzz-setup.log"; exit 1; }
    fi
    if [[ $(grep -c "^TERN_BUILD_FUZZ:BOOL=ON" "$build/CMakeCache.txt") == 0 ]]; then
        echo "fuzz.sh: $build is not configured with -DTERN_BUILD_FUZZ=ON" >&2
        exit 2
    fi
    if [[ -z ${TERN_FUZZ_NO_BUILD:-} ]]; then
        cmake --build "$build" -j "$(nproc)" --target tern-cli $(printf '%s_fuzzer ' "${targets[@]}") > "$build/fuzz-build.log" 2>&1 ||
            { tail -30 "$build/fuzz-build.log"; echo "fuzz.sh: build failed (log: $build/fuzz-build.log)" >&2; exit 1; }
    fi
    mkdir -p "$work" "$crashes"
}

dict_of() { case $1 in gguf_*) echo gguf ;; tokenizer) echo "" ;; server_request | safetensors) echo json ;; *) echo yaml ;; esac; }

# Tiny models of every layout and storage type: "small" ones (under 64 KiB,
# whole loads: gguf_model) and "wide" ones (256 columns, for the TQ1_0/TQ2_0
# and K-quant blocks).
gen_models() {
    local dir=$1 sets=" ${*:2} " i=0
    local small="--n-embd 32 --n-ff 32 --n-head 2 --n-head-kv 1 --n-layer 1 --n-vocab 266"
    local wide="--n-embd 256 --n-ff 256 --n-head 4 --n-head-kv 2 --n-layer 1 --n-vocab 266"
    local narrow="--n-embd 128 --n-ff 128 --n-head 2 --n-head-kv 1 --n-layer 1 --n-vocab 266"
    while read -r set args; do
        i=$((i + 1))
        [[ $sets == *" $set "* ]] || continue
        # shellcheck disable=SC2086
        "$build/runtime/tern" gen-model $args -o "$dir/model-$i.gguf" > /dev/null 2>&1
    done << EOF2
small --arch bitnet --type f16 $small
small --arch bitnet-25 --type bf16 --embedding f32 --head q8_0 $small
small --arch llama --type f32 --embedding q4_0 --head f16 $small
small --arch bitnet --type i2_s --embedding q4_0 $narrow
small --arch bitnet --type f16 --activation silu --seed 7 --n-embd 32 --n-ff 64 --n-head 4 --n-head-kv 2 --n-layer 2 --n-vocab 300
wide --arch bitnet-25 --type i2_s --head q8_0 $narrow
wide --arch bitnet --type tq2_0 --embedding q5_k $wide
wide --arch llama --type tq1_0 --embedding q6_k --head q4_k $wide
EOF2
}

# Seed inputs: the committed ones, saved regression inputs, and per target the
# files tern really reads (tiny models of every layout, the checked-in databases
# and target files). The independent writer's models in tests/data (325-620 KB)
# are replayed by CTest instead: libFuzzer copies every input, so a few large
# seeds would halve the pace of the whole run.
make_seeds() {
    local t=$1 dir="$work/seeds/$1"
    [[ -d $dir ]] && return
    mkdir -p "$dir.tmp"
    [[ -d $src/fuzz/seeds/$t ]] && cp -r "$src/fuzz/seeds/$t/." "$dir.tmp/"
    [[ -d $src/tests/data/fuzz/$t ]] && cp -r "$src/tests/data/fuzz/$t/." "$dir.tmp/"
    case $t in
        gguf_file) gen_models "$dir.tmp" small wide ;;
        gguf_model) gen_models "$dir.tmp" small ;;
        schedule_db) cp "$src"/schedules/*.yaml "$dir.tmp/" ;;
        target_file) cp "$src"/targets/*.yaml "$dir.tmp/" ;;
    esac
    mv "$dir.tmp" "$dir"
}

run_target() {
    local t=$1 bin="$build/fuzz/$1_fuzzer" dict
    dict=$(dict_of "$t")
    mkdir -p "$work/corpus/$t"
    local args=(-max_total_time="${seconds:-0}" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1
                -artifact_prefix="$crashes/$t-")
    [[ -n $dict ]] && args+=(-dict="$src/fuzz/dict/$dict.dict")
    [[ -n $runs ]] && args+=(-runs="$runs")
    # Whole model loads stay fast on small files; larger ones are gguf_file's.
    [[ $t == gguf_model ]] && args+=(-max_len=65536)
    local start=$SECONDS
    local status=0
    "$bin" "${args[@]}" "$work/corpus/$t" "$work/seeds/$t" > "$work/$t.log" 2>&1 || status=$?
    echo "$status $((SECONDS - start))" > "$work/$t.status"
}

report() {
    local t=$1 log="$work/$1.log" status took runs rate cov result
    read -r status took < "$work/$t.status"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
    result="ok"
    if [[ $status != 0 ]]; then
        local artifact
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        result="FAILED (exit $status)"
        {
            echo "fuzz.sh: $t failed; its log: $log"
            grep -m1 -E "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|==[0-9]+==|terminate called|uncaught" "$log" || true
            if [[ -n $artifact ]]; then
                echo "  input:     $artifact"
                echo "  reproduce: $build/fuzz/${t}_fuzzer $artifact"
                echo "  keep it:   cp $artifact $src/tests/data/fuzz/$t/ (replayed by ctest -R fuzz_replay_$t)"
            fi
        } >&2
    fi
    printf '%-15s %6ss %12s %8s/s  %-28s %s\n' "$t" "$took" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$result"
    [[ $status == 0 ]]
}

# All in a function, read whole before it runs: editing this file while it
# runs for an hour must not change what it does.
main() {
    if ((report_only)); then
        printf '%-15s %7s %12s %10s  %-28s %s\n' target time executions rate "coverage" result
        local failed=0
        for t in "${targets[@]}"; do
            [[ -f $work/$t.status ]] && { report "$t" || failed=1; }
        done
        return $failed
    fi
    build_targets
    echo "fuzz.sh: ${#targets[@]} target(s), ${runs:+$runs executions}${runs:+${seconds:+ or }}${seconds:+$seconds s} each, $parallel at a time; corpora in $work/corpus"
    # A smaller quarantine and shorter allocation stacks than ASan's defaults: the
    # targets allocate many small strings per input, and this doubles their speed.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64:malloc_context_size=10}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
    for t in "${targets[@]}"; do make_seeds "$t"; done
    running=0
    for t in "${targets[@]}"; do
        run_target "$t" &
        running=$((running + 1))
        if ((running >= parallel)); then wait -n || true; running=$((running - 1)); fi
    done
    wait
    printf '%-15s %7s %12s %10s  %-28s %s\n' target time executions rate "coverage" result
    failed=0
    for t in "${targets[@]}"; do report "$t" || failed=1; done
    return $failed
}
main
exit $?
