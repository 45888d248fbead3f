#!/usr/bin/env bash
# tern and llama.cpp side by side on one GGUF file, in one run:
#  1. agreement (agreement.sh, with the reference forward pass when they
#     disagree);
#  2. speed: prompt processing and generation tokens/s at each thread count,
#     medians of repeats (each from an empty cache after a warm-up), for
#     llama.cpp and for tern with its int8 LM head (default) and its file-
#     precision head; the ratio tern / llama.cpp; generation against its bound,
#     a plain read of the weights a token reads, which tern bench probes before
#     and after each of its repetitions;
#     peak resident memory; joules per token where RAPL counters exist.
# llama.cpp runs through npm's node-llama-cpp (installed into the build tree by
# scripts/setup.sh, or by bench/peer/install.sh).
#   bench/peer/compare.sh MODEL [threads (1,2)] [pp (512)] [tg (128)] [reps (3)]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1 threads=${2:-1,2} pp=${3:-512} tg=${4:-128} reps=${5:-3}
tern=build/runtime/tern
peer=${TERN_PEER_DIR:-build/peer}
[[ -d $peer/node_modules/node-llama-cpp ]] || bench/peer/install.sh "$peer"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TERN_PEER_DIR=$peer

echo "## $(basename "$model"): agreement with llama.cpp"
agree=ok
bench/peer/agreement.sh "$tern" "$model" "$work" --explain || agree=DISAGREE

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
done
node - "$work" "$threads" "$pp" "$tg" << 'EOF'
const fs = require("fs");
const [work, threadList, pp, tg] = process.argv.slice(2);
const read = (f) => JSON.parse(fs.readFileSync(`${work}/${f}`, "utf8"));
const range = (a) => a.length ? ` (${Math.min(...a).toFixed(1)}-${Math.max(...a).toFixed(1)})` : "";
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
        // tern bench probes a plain read of the weights around each repetition
        // (same threads): the bound moves with the machine as the runs do.
        const cells = ["int8", "file"].map((h) => {
            const r = ours[h].find((x) => x.test === `tg${tg}`);
            const bound = r.read_gbs * 1e9 / r.bytes_per_token;
            return `${bound.toFixed(1)} (${(r.bytes_per_token / 1e6).toFixed(0)} MB at ${r.read_gbs.toFixed(1)} GB/s) | ${(100 * r.bound_share).toFixed(0)}% of it`;
        });
        console.log(`| ${t} | tg bound: plain read of the weights | | ${cells.join(" | ")} |`);
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
