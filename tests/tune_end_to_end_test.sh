#!/usr/bin/env bash
# tern-tune end to end: a small-budget run writes a database; killed mid-run the
# database stays valid and --resume does not redo finished kernels; a foreign
# database is reported; --in-model chooses GEMVs inside a model's decode steps;
# the build and the benchmark consume the result.
#   tune_end_to_end_test.sh <tern-tune> <tern> <source dir> <work dir>
set -euo pipefail
tune=$1 tern=$2 src=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
db=$work/tuned.yaml
common=(--shapes 256x128,512x96 --ops gemv,gemm --m 8 --threads 1 --stream-mib 16)

# Kill after the first kernel is written.
"$tune" "${common[@]}" --budget 40s --out "$db" > "$work/first.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    grep -q "tried -> $db" "$work/first.log" 2>/dev/null && break
    sleep 0.1
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
grep -q "tried -> $db" "$work/first.log" || { cat "$work/first.log"; echo "FAIL: no kernel finished"; exit 1; }
first=$(grep -c "op: " "$db")
[[ $first -ge 1 ]] || { echo "FAIL: killed run left no tuned kernel in $db"; exit 1; }
echo "killed after $first finished kernel(s)"

# Resume: finished kernels are kept, the rest tuned.
"$tune" "${common[@]}" --budget 8s --out "$db" --resume > "$work/resume.log" 2>&1
kept=$(grep -c "done earlier, kept" "$work/resume.log")
[[ $kept -eq $first ]] || { cat "$work/resume.log"; echo "FAIL: resumed run kept $kept, expected $first"; exit 1; }
[[ $(grep -c "op: " "$db") -eq 4 ]] || { cat "$db"; echo "FAIL: expected 4 tuned kernels"; exit 1; }
# The report has a plot per kernel tuned in this run, with the winner marked.
[[ $(grep -c "<svg" "$db.html") -eq $((4 - first)) ]] || { echo "FAIL: report lacks plots"; exit 1; }
grep -q ">winner " "$db.html" || { echo "FAIL: report marks no winner"; exit 1; }

# A database from another CPU is reported, not trusted silently.
sed 's/^  cpu: .*/  cpu: "Some Other CPU"/' "$db" > "$work/foreign.yaml"
"$tune" "${common[@]}" --budget 1s --out "$work/foreign.yaml" --resume > "$work/foreign.log" 2>&1
grep -q "warning: .*tuned on CPU 'Some Other CPU'" "$work/foreign.log" || { cat "$work/foreign.log"; echo "FAIL: foreign database not reported"; exit 1; }

# A malformed database is an error naming the line.
printf 'target: x86-64-avx2\nprovenance: {cpu: X, halide: "14", tern: "0", date: "d"}\nkernels:\n  - {name: a}\n' > "$work/bad.yaml"
if "$tune" "${common[@]}" --budget 1s --out "$work/bad.yaml" --resume > "$work/bad.log" 2>&1; then
    echo "FAIL: malformed database accepted"; exit 1
fi
grep -q "bad.yaml:4: missing key 'family'" "$work/bad.log" || { cat "$work/bad.log"; echo "FAIL: error does not name line and key"; exit 1; }

# In-model choice: every GEMV shape of a tiny model is timed inside its decode
# steps (finalists and the bundle's kernel side by side, one chosen per
# shape), and the database records the in-model time of each.
"$tern" gen-model --preset tiny --n-layer 2 -o "$work/tiny.gguf" > /dev/null
"$tune" --model "$work/tiny.gguf" --in-model --in-model-tokens 2 --ops gemv --threads 1 \
    --stream-mib 16 --budget 8s --out "$work/in_model.yaml" > "$work/in_model.log" 2>&1 ||
    { cat "$work/in_model.log"; echo "FAIL: --in-model run failed"; exit 1; }
grep -q "| problem | kernel | knobs | isolated us | in model us | token ms |" "$work/in_model.log" ||
    { cat "$work/in_model.log"; echo "FAIL: no side-by-side table"; exit 1; }
[[ $(grep -c "^| gemv .* | chosen |$" "$work/in_model.log") -eq 4 ]] ||
    { cat "$work/in_model.log"; echo "FAIL: expected one chosen kernel per shape"; exit 1; }
grep -q "^| gemv .* the bundle's " "$work/in_model.log" ||
    { cat "$work/in_model.log"; echo "FAIL: the bundle's kernels are not compared"; exit 1; }
# The LM head's knobs too: one fastest per thread count, written to the database.
[[ $(grep -c "^| lm head t1 | .* | fastest here |$" "$work/in_model.log") -eq 1 ]] ||
    { cat "$work/in_model.log"; echo "FAIL: the LM head is not timed in the model"; exit 1; }
grep -q "name: int8_gemv, .*prefetch: " "$work/in_model.yaml" ||
    { cat "$work/in_model.yaml"; echo "FAIL: the head's choice is not in the database"; exit 1; }
[[ $(grep -c "model_us: " "$work/in_model.yaml") -eq 4 ]] ||
    { cat "$work/in_model.yaml"; echo "FAIL: in-model times not recorded"; exit 1; }
if "$tune" --shapes 256x128 --in-model --out "$work/x.yaml" > "$work/no_model.log" 2>&1; then
    echo "FAIL: --in-model without --model accepted"; exit 1
fi
grep -q "needs --model FILE" "$work/no_model.log" || { cat "$work/no_model.log"; echo "FAIL: unclear error"; exit 1; }

# The build and the benchmark consume the tuned database.
cmake -S "$src" -B "$work/build" -DTERN_TARGETS=host -DTERN_SCHEDULES="$db" -DTERN_BUILD_TESTS=OFF > "$work/cmake.log"
cmake --build "$work/build" --target kernels_bench -j 2 > "$work/build.log"
"$work/build/bench/kernels_bench" --benchmark_filter='gemv_cached/[a-z0-9-]+/[a-z]+_gemv_256x128_t1/2560x640/threads:1' \
    --benchmark_min_time=0.01 > "$work/bench.log" 2>&1
grep -q "_gemv_256x128_t1/2560x640" "$work/bench.log" || { cat "$work/bench.log"; echo "FAIL: tuned kernel not benchmarked"; exit 1; }
echo "PASS"
