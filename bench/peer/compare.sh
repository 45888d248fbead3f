#!/usr/bin/env bash
# tern and a peer (llama.cpp, or bitnet.cpp) side by side on one GGUF file, in
# one run:
#  1. agreement (agreement.sh, with the reference forward pass when they
#     disagree);
#  2. speed: prompt processing and generation tokens/s at each thread count,
#     in paired rounds (llama.cpp, then tern, one repetition each after a
#     warm-up, each from an empty cache), medians over the rounds, for
#     llama.cpp and for each tern configuration (TERN_CONFIGS, weights:head
#     pairs, default "2:int8,1.6:int8,1.6:int4": 2-bit or 1.6-bit ternary
#     weights, int8, int4 or file-precision LM head; a third field names a
#     kernel bundle, as in 2:int8:x86-64-avx2); the ratio tern / peer;
#     generation against its bound,
#     a plain read of the weights a token reads, which tern bench probes before
#     and after each of its repetitions;
#     peak resident memory; joules per token where RAPL counters exist.
# llama.cpp runs through npm's node-llama-cpp (installed into the build tree by
# scripts/setup.sh, or by bench/peer/install.sh), in its fastest loading mode
# here: the file read into memory, not mapped (TERN_PEER_MMAP=on to compare).
# Another peer: TERN_PEER_BENCH=path/to/llama-bench (a bitnet.cpp build, say;
# see bench/peer/build_bitnet_cpp.sh) runs that binary instead, through
# bench/peer/llama_bench.sh (file read into memory too), named TERN_PEER_NAME
# in the table; agreement is then off (it needs node-llama-cpp's logits).
# TERN_ARGS adds flags to every tern bench (--activation silu, say, for a peer
# whose graph uses SiLU on a file that names none).
# TERN_AGREEMENT=off skips step 1 (its reference forward passes take minutes).
# TERN_BIN runs another tern build (one built with -DTERN_SCHEDULES=<a database
# tern-tune wrote on this machine, say) instead of build/runtime/tern.
#   bench/peer/compare.sh MODEL [threads (1,2)] [pp (512)] [tg (128)] [reps (3)]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1 threads=${2:-1,2} pp=${3:-512} tg=${4:-128} reps=${5:-3}
mmap=${TERN_PEER_MMAP:-off}
configs=${TERN_CONFIGS:-2:int8,1.6:int8,1.6:int4}
tern=${TERN_BIN:-build/runtime/tern}
peer=${TERN_PEER_DIR:-build/peer}
peer_bench=${TERN_PEER_BENCH:-}
peer_name=${TERN_PEER_NAME:-llama.cpp}
if [[ -n $peer_bench ]]; then
    TERN_AGREEMENT=off
else
    [[ -d $peer/node_modules/node-llama-cpp ]] || bench/peer/install.sh "$peer"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TERN_PEER_DIR=$peer

agree=ok
if [[ ${TERN_AGREEMENT:-on} == on ]]; then
    echo "## $(basename "$model"): agreement with llama.cpp"
    bench/peer/agreement.sh "$tern" "$model" "$work" --explain || agree=DISAGREE
    vocab=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).steps[0].logits.length)' "$work/llama.json")
else
    # Speed only (TERN_AGREEMENT=off): the vocabulary size from tern itself.
    vocab=$("$tern" info -m "$model" 2> /dev/null | sed -n 's/.*vocabulary \([0-9]*\)$/\1/p' | head -1)
fi

echo
echo "## $(basename "$model"): speed"
# Paired rounds: each round runs llama.cpp, then tern in each configuration, one
# repetition apiece (after each one's warm-up), so the drift of this shared
# machine hits both sides of a round alike; ratios are medians of per-round
# ratios.
for t in ${threads//,/ }; do
    for r in $(seq 1 "$reps"); do
        echo "threads $t, round $r of $reps" >&2
        if [[ -n $peer_bench ]]; then
            bench/peer/llama_bench.sh "$peer_bench" "$model" "$t" "$pp" "$tg" > "$work/llama-$t-$r.json"
        else
            node bench/peer/llama_cpp.mjs bench "$model" --threads "$t" --pp "$pp" --tg "$tg" \
                --reps 1 --vocab "$vocab" --mmap "$mmap" > "$work/llama-$t-$r.json"
        fi
        for c in ${configs//,/ }; do
            IFS=: read -r weights head bundle <<< "$c"
            "$tern" bench -m "$model" --weights "$weights" --lm-head "$head" -p "$pp" -n "$tg" \
                -t "$t" -r 1 ${bundle:+--bundle "$bundle"} ${TERN_ARGS:-} -o json > "$work/tern-$c-$t-$r.json" \
                2> "$work/tern.err" || { cat "$work/tern.err" >&2; exit 1; }
        done
    done
done
node - "$work" "$threads" "$pp" "$tg" "$reps" "$configs" "$peer_name" << 'EOF'
const fs = require("fs");
const [work, threadList, pp, tg, reps, configList, peerName] = process.argv.slice(2);
const configs = configList.split(",");
const label = (c) => { const [w, h, b] = c.split(":"); return `${b ? b + " " : ""}${w}-bit ${h} head`; };
const read = (f) => JSON.parse(fs.readFileSync(`${work}/${f}`, "utf8"));
const median = (a) => { const s = [...a].sort((x, y) => x - y); const h = s.length >> 1; return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; };
const range = (a) => ` (${Math.min(...a).toFixed(1)}-${Math.max(...a).toFixed(1)})`;
const rounds = Array.from({length: Number(reps)}, (_, i) => i + 1);
console.log(`${reps} paired rounds per thread count; medians, ranges in brackets; ratios are medians of per-round ratios.`);
const firstPeer = read("llama-" + threadList.split(",")[0] + "-1.json");
console.log(`${peerName} (${firstPeer.runtime}) loads the model with mmap ${firstPeer.mmap ? "on (TERN_PEER_MMAP=on)" : "off: read into memory, its fastest mode here"}.\n`);
console.log(`| threads | test | ${peerName} t/s | ${configs.map((c) => `tern ${label(c)} t/s | / ${peerName}`).join(" | ")} |`);
console.log(`| ---: | --- | ---: | ${configs.map(() => "---: | ---:").join(" | ")} |`);
const notes = [];
for (const t of threadList.split(",")) {
    const llama = rounds.map((r) => read(`llama-${t}-${r}.json`));
    const ours = Object.fromEntries(configs.map((c) => [c, rounds.map((r) => read(`tern-${c}-${t}-${r}.json`))]));
    const test = (h, name) => ours[h].map((rows) => rows.find((x) => x.test === name));
    const row = (name, peer) => {
        const cells = configs.map((h) => {
            const tps = test(h, name).map((x) => x.tps_median);
            return `${median(tps).toFixed(2)}${range(tps)} | ${median(tps.map((v, i) => v / peer[i])).toFixed(2)}x`;
        });
        console.log(`| ${t} | ${name} | ${median(peer).toFixed(2)}${range(peer)} | ${cells.join(" | ")} |`);
    };
    if (Number(pp) > 0) row(`pp${pp}`, llama.map((l) => l.pp_tps));
    if (Number(tg) > 0) {
        row(`tg${tg}`, llama.map((l) => l.tg_tps));
        // tern bench probes a plain read of the weights before and after each
        // repetition (same threads): the bound moves with the machine as the runs do.
        const cells = configs.map((h) => {
            const rows = test(h, `tg${tg}`);
            const gbs = median(rows.map((x) => x.read_gbs)), bytes = rows[0].bytes_per_token;
            return `${(gbs * 1e9 / bytes).toFixed(1)} (${(bytes / 1e6).toFixed(0)} MB at ${gbs.toFixed(1)} GB/s) | ${(100 * median(rows.map((x) => x.bound_share))).toFixed(0)}% of it`;
        });
        console.log(`| ${t} | tg bound: plain read of the weights | | ${cells.join(" | ")} |`);
    }
    const peak = Math.max(...llama.map((l) => l.peak_rss_mib));
    const mem = (h) => Math.max(...ours[h].map((rows) => rows[0].peak_rss_mib));
    console.log(`| ${t} | peak memory MiB | ${peak.toFixed(0)} | ${configs.map((h) => `${mem(h).toFixed(0)} | ${(mem(h) / peak).toFixed(2)}x`).join(" | ")} |`);
    const joules = (h, name) => test(h, name).map((x) => x?.joules_per_token);
    if (llama[0].tg_joules_per_token != null && joules(configs[0], `tg${tg}`)[0] != null) {
        for (const [name, key] of [[`pp${pp}`, "pp_joules_per_token"], [`tg${tg}`, "tg_joules_per_token"]]) {
            const peer = llama.map((l) => l[key]);
            if (peer[0] == null) continue;
            const cells = configs.map((h) => `${median(joules(h, name)).toFixed(3)} | ${median(joules(h, name).map((v, i) => v / peer[i])).toFixed(2)}x`);
            console.log(`| ${t} | J/token ${name} | ${median(peer).toFixed(3)} | ${cells.join(" | ")} |`);
        }
    } else {
        notes.push(`energy per token: not measured (${llama[0].energy})`);
    }
}
for (const n of new Set(notes)) console.log(`\n${n}`);
EOF
[[ $agree == ok ]]
