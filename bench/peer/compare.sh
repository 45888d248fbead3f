#!/usr/bin/env bash
# tern and llama.cpp on the same GGUF file in one run: prompt processing and
# generation tokens/s at each thread count (median of repeats for llama.cpp,
# mean for tern bench, as each reports), peak resident memory, and the ratio
# tern / llama.cpp. llama.cpp runs through npm's node-llama-cpp (installed into
# the build tree by scripts/setup.sh, or by bench/peer/install.sh).
#   bench/peer/compare.sh MODEL [threads (default 1,2)] [pp (512)] [tg (128)] [reps (3)]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1 threads=${2:-1,2} pp=${3:-512} tg=${4:-128} reps=${5:-3}
tern=build/runtime/tern
peer=${TERN_PEER_DIR:-build/peer}
[[ -d $peer/node_modules/node-llama-cpp ]] || bench/peer/install.sh "$peer"
echo "| threads | test | llama.cpp t/s | tern t/s | tern / llama.cpp |"
echo "| ---: | --- | ---: | ---: | ---: |"
for t in ${threads//,/ }; do
    llama=$(TERN_PEER_DIR=$peer node bench/peer/llama_cpp.mjs bench "$model" --threads "$t" --pp "$pp" --tg "$tg" --reps "$reps")
    ours=$("$tern" bench -m "$model" -p "$pp" -n "$tg" -t "$t" -r "$reps" -o json 2> /dev/null)
    node -e '
        const [llama, ours, t, pp, tg] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2]), ...process.argv.slice(3)];
        const row = (test, a, b) => console.log(`| ${t} | ${test} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(2)} |`);
        const get = (name) => ours.find((r) => r.test === name);
        if (Number(pp) > 0) row("pp" + pp, llama.pp_tps, get("pp" + pp).tps_mean);
        if (Number(tg) > 0) row("tg" + tg, llama.tg_tps, get("tg" + tg).tps_mean);
        console.log(`|  | peak memory (MiB) | ${llama.peak_rss_mib.toFixed(0)} | ${ours[0].peak_rss_mib.toFixed(0)} | ${(ours[0].peak_rss_mib / llama.peak_rss_mib).toFixed(2)} |`);
    ' "$llama" "$ours" "$t" "$pp" "$tg"
done
