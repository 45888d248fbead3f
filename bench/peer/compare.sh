#!/usr/bin/env bash
# tern and llama.cpp side by side on one GGUF file, in one run:
#  1. agreement: the same token sequence and three greedy steps (llama.cpp's
#     tokens, followed by tern) in both; last-position logits must correlate
#     >= 0.998 with the same top-1 token (or a near tie within 0.1), with each of
#     tern's LM heads; tern runs SiLU, the activation llama.cpp uses for bitnet;
#  2. speed: prompt processing and generation tokens/s at each thread count,
#     medians of repeats (each from an empty cache after a warm-up), for
#     llama.cpp and for tern with its int8 LM head (default) and its file-
#     precision head; the ratio tern / llama.cpp; the generation bound set by
#     reading tern's weights once per token at the measured read bandwidth;
#     peak resident memory; joules per token where RAPL counters exist.
# llama.cpp runs through npm's node-llama-cpp (installed into the build tree by
# scripts/setup.sh, or by bench/peer/install.sh).
#   bench/peer/compare.sh MODEL [threads (1,2)] [pp (512)] [tg (128)] [reps (3)]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1 threads=${2:-1,2} pp=${3:-512} tg=${4:-128} reps=${5:-3}
tern=build/runtime/tern
probe=build/bench/kernels_bench
peer=${TERN_PEER_DIR:-build/peer}
[[ -d $peer/node_modules/node-llama-cpp ]] || bench/peer/install.sh "$peer"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TERN_PEER_DIR=$peer

echo "## $(basename "$model"): agreement with llama.cpp"
tokens="1 17 300 5 1023 42 99 640 3 812 77 500"
node bench/peer/llama_cpp.mjs logits "$model" --tokens "$tokens" --steps 3 > "$work/llama.json"
follow=$(node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1])).steps;
                  console.log(s.slice(0, -1).map((x) => x.greedy).join(" "))' "$work/llama.json")
agree=ok
for head in int8 file; do
    "$tern" eval -m "$model" --activation silu --lm-head "$head" --tokens "$tokens" --follow "$follow" \
        > "$work/tern-$head.json" 2> /dev/null
    echo "tern (LM head $head) against llama.cpp:"
    node bench/peer/compare_logits.mjs "$work/tern-$head.json" "$work/llama.json" --min-corr 0.998 --tie 0.1 ||
        agree=DISAGREE
done

if [[ $agree != ok ]]; then
    # Which side is off? Each against the plain reference forward pass with its
    # own activation quantisation (tern: per token, BitNet b1.58's definition;
    # llama.cpp: Q8_K blocks of 256), and each quantisation against none.
    echo "against the reference forward pass (tern eval --reference; slow):"
    for q in per-token per-block none; do
        "$tern" eval -m "$model" --activation silu --tokens "$tokens" --follow "$follow" --reference "$q" \
            > "$work/ref-$q.json" 2> /dev/null
    done
    echo "| pair | correlation per position |"
    echo "| --- | --- |"
    for pair in "tern-int8 ref-per-token" "llama ref-per-block" "ref-per-token ref-none" "ref-per-block ref-none" \
        "tern-int8 ref-none" "llama ref-none"; do
        set -- $pair
        corr=$( (node bench/peer/compare_logits.mjs "$work/$1.json" "$work/$2.json" || true) | awk -F'|' 'NR > 2 && NF > 4 {printf "%s ", $3}')
        echo "| $1 / $2 | $corr|"
    done
fi

vocab=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).steps[0].logits.length)' "$work/llama.json")

echo
echo "## $(basename "$model"): speed"
for t in ${threads//,/ }; do
    node bench/peer/llama_cpp.mjs bench "$model" --threads "$t" --pp "$pp" --tg "$tg" --reps "$reps" \
        --vocab "$vocab" > "$work/llama-$t.json"
    for head in int8 file; do
        "$tern" bench -m "$model" --lm-head "$head" -p "$pp" -n "$tg" -t "$t" -r "$reps" -o json \
            > "$work/tern-$head-$t.json" 2> /dev/null
    done
    if [[ -x $probe ]]; then
        "$probe" --benchmark_filter="read_bandwidth/threads:$t/" --benchmark_repetitions=3 \
            --benchmark_out="$work/bw-$t.json" --benchmark_out_format=json > /dev/null 2>&1 || true
    fi
done
node - "$work" "$threads" "$pp" "$tg" << 'EOF'
const fs = require("fs");
const [work, threadList, pp, tg] = process.argv.slice(2);
const read = (f) => JSON.parse(fs.readFileSync(`${work}/${f}`, "utf8"));
const median = (a) => { const s = [...a].sort((x, y) => x - y); const h = s.length >> 1; return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; };
const range = (a) => a.length ? ` (${Math.min(...a).toFixed(1)}-${Math.max(...a).toFixed(1)})` : "";
const bandwidth = (t) => {
    try {
        const runs = read(`bw-${t}.json`).benchmarks.filter((b) => b.run_type === "iteration");
        return median(runs.map((b) => b["GB/s"]));
    } catch { return null; }
};
console.log("| threads | test | llama.cpp t/s | tern int8 head t/s | int8 / llama.cpp | tern file head t/s | file / llama.cpp |");
console.log("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
const notes = [];
for (const t of threadList.split(",")) {
    const llama = read(`llama-${t}.json`);
    const ours = {int8: read(`tern-int8-${t}.json`), file: read(`tern-file-${t}.json`)};
    const row = (test, peer, all) => {
        const get = (h) => ours[h].find((r) => r.test === test);
        const cells = ["int8", "file"].map((h) => `${get(h).tps_median.toFixed(2)} | ${(get(h).tps_median / peer).toFixed(2)}x`);
        console.log(`| ${t} | ${test} | ${peer.toFixed(2)}${range(all)} | ${cells.join(" | ")} |`);
    };
    if (Number(pp) > 0) row(`pp${pp}`, llama.pp_tps, llama.pp_all);
    if (Number(tg) > 0) {
        row(`tg${tg}`, llama.tg_tps, llama.tg_all);
        const bw = bandwidth(t);
        if (bw) {
            const cells = ["int8", "file"].map((h) => {
                const r = ours[h].find((x) => x.test === `tg${tg}`);
                const bound = bw * 1e9 / r.bytes_per_token;
                return `${bound.toFixed(1)} (${(r.bytes_per_token / 1e6).toFixed(0)} MB/token) | ${(100 * r.tps_median / bound).toFixed(0)}% of it`;
            });
            console.log(`| ${t} | tg bound at ${bw.toFixed(1)} GB/s read | | ${cells.join(" | ")} |`);
        }
    }
    const mem = (h) => ours[h][0].peak_rss_mib;
    console.log(`| ${t} | peak memory MiB | ${llama.peak_rss_mib.toFixed(0)} | ${mem("int8").toFixed(0)} | ${(mem("int8") / llama.peak_rss_mib).toFixed(2)}x | ${mem("file").toFixed(0)} | ${(mem("file") / llama.peak_rss_mib).toFixed(2)}x |`);
    const joules = (h, test) => ours[h].find((r) => r.test === test)?.joules_per_token;
    if (llama.tg_joules_per_token != null && joules("int8", `tg${tg}`) != null) {
        for (const [test, peer] of [[`pp${pp}`, llama.pp_joules_per_token], [`tg${tg}`, llama.tg_joules_per_token]]) {
            if (peer == null) continue;
            const cells = ["int8", "file"].map((h) => `${joules(h, test).toFixed(3)} | ${(joules(h, test) / peer).toFixed(2)}x`);
            console.log(`| ${t} | J/token ${test} | ${peer.toFixed(3)} | ${cells.join(" | ")} |`);
        }
    } else {
        notes.push(`energy per token: not measured (${llama.energy})`);
    }
}
for (const n of new Set(notes)) console.log(`\n${n}`);
EOF
[[ $agree == ok ]]
