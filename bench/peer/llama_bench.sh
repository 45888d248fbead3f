#!/usr/bin/env bash
# One repetition of a llama-bench binary (bitnet.cpp's build, or any llama.cpp
# build) on a model, printed as the JSON line bench/peer/llama_cpp.mjs prints, so
# compare.sh can put either peer beside tern: pp and tg tokens/s, mmap, peak
# resident memory (GNU time). The file is read into memory (-mmp 0), the fastest
# loading mode of llama.cpp-based runtimes here; llama-bench warms up itself.
#   bench/peer/llama_bench.sh LLAMA_BENCH MODEL THREADS PP TG
set -euo pipefail
bin=$1 model=$2 threads=$3 pp=$4 tg=$5
[[ -x $bin ]] || { echo "llama_bench.sh: '$bin' is not an executable llama-bench" >&2; exit 1; }
out=$(mktemp) mem=$(mktemp)
trap 'rm -f "$out" "$mem"' EXIT
/usr/bin/time -f %M -o "$mem" "$bin" -m "$model" -t "$threads" -p "$pp" -n "$tg" -r 1 -mmp 0 \
    -o json > "$out" 2> /dev/null ||
    { echo "llama_bench.sh: $bin failed on $model" >&2; exit 1; }
node - "$out" "$(tail -1 "$mem")" "$threads" "$pp" "$tg" << 'EOF'
const fs = require("fs");
const [file, rssKiB, threads, pp, tg] = process.argv.slice(2);
const rows = JSON.parse(fs.readFileSync(file, "utf8"));
// llama-bench reports a prompt test with n_gen 0 and a generation test with n_prompt 0.
const tps = (prompt, gen) => {
    const row = rows.find((r) => r.n_prompt === prompt && r.n_gen === gen);
    return row ? row.avg_ts : null;
};
console.log(JSON.stringify({
    runtime: "llama-bench", mmap: false, threads: Number(threads), pp: Number(pp), tg: Number(tg),
    pp_tps: Number(pp) ? tps(Number(pp), 0) : null, tg_tps: Number(tg) ? tps(0, Number(tg)) : null,
    peak_rss_mib: Number(rssKiB) / 1024, energy: "not measured for llama-bench peers",
}));
EOF
