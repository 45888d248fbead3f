#!/usr/bin/env bash
# Embedding models, tern against llama.cpp side by side in one run: BitNet
# embedding files (ternary, tern) and dense F16 files of the same shapes
# (llama.cpp, through npm's node-llama-cpp with the file read into memory, its
# fastest mode here), both written by tern gen-model with random weights:
#   qwen3  BitNet-embedding-0.6B's shape (I2_S) / the F16 Qwen3 of that shape
#   gemma3 BitNet-embedding-270M's shape (I2_S) / the F16 Gemma3 of that shape
# For texts of each length and each thread count, in paired rounds (llama.cpp,
# then tern, each a warm-up and 3 timed texts), one text at a time on both
# sides, plus tern embedding 8 texts at once (as tern embed and tern serve batch
# them; no llama.cpp column; texts under 512 tokens). llama.cpp's figure is its
# prefill of a text of that length from an empty cache (llama_cpp.mjs bench
# --pp N), the same transformer work an embedding is: node-llama-cpp's embedding
# context (llama_cpp.mjs embed) ran 2-5.6x slower than that here, so it would
# handicap the peer.
# Medians over rounds; ratios are medians of per-round ratios.
#   bench/peer/embed_compare.sh [threads (1,2)] [tokens (16,128,512)] [rounds (3)] [models dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-1,2} lengths=${2:-16,128,512} rounds=${3:-3} dir=${4:-build/models}
tern=build/runtime/tern
peer=${TERN_PEER_DIR:-build/peer}
[[ -d $peer/node_modules/node-llama-cpp ]] || bench/peer/install.sh "$peer"
export TERN_PEER_DIR=$peer
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A preset=([qwen3]=embedding-0.6b [gemma3]=embedding-270m)
declare -A vocab=([qwen3]=151936 [gemma3]=262144)
for arch in qwen3 gemma3; do
    for kind in i2_s f16; do
        f=$dir/$arch-${preset[$arch]}-$kind.gguf
        [[ -s $f ]] && continue
        extra=()
        [[ $kind == f16 ]] && extra=(--no-input-norms)
        "$tern" gen-model --arch $arch --preset "${preset[$arch]}" --type $kind "${extra[@]}" -o "$f" > /dev/null
    done
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
family=$(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
model=$(grep -m1 '^model\s' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
echo "# Embeddings: tern (BitNet I2_S) against llama.cpp's prefill (dense F16, node-llama-cpp, mmap off)"
echo "$cpu (family $family model $model), $(nproc) vCPUs, $(date -u +%Y-%m-%d); $rounds paired rounds"
for arch in qwen3 gemma3; do
    tf=$dir/$arch-${preset[$arch]}-i2_s.gguf lf=$dir/$arch-${preset[$arch]}-f16.gguf
    for t in ${threads//,/ }; do
        for n in ${lengths//,/ }; do
            for r in $(seq 1 "$rounds"); do
                echo "$arch, $t thread(s), $n tokens, round $r" >&2
                node bench/peer/llama_cpp.mjs bench "$lf" --threads "$t" --pp "$n" --tg 0 --reps 3 \
                    --vocab "${vocab[$arch]}" > "$work/l-$arch-$t-$n-$r.json"
                "$tern" bench -m "$tf" -p "$n" -t "$t" -r 3 -o json > "$work/t-$arch-$t-$n-$r.json" 2> /dev/null
                ((n < 512)) && "$tern" bench -m "$tf" -p "$n" -t "$t" -r 3 -b 8 -o json \
                    > "$work/b-$arch-$t-$n-$r.json" 2> /dev/null
            done
        done
    done
done
node - "$work" "$threads" "$lengths" "$rounds" << 'EOF'
const fs = require("fs");
const [work, threads, lengths, rounds] = process.argv.slice(2);
const median = (a) => { const s = [...a].sort((x, y) => x - y); const h = s.length >> 1; return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; };
const spread = (a) => `${Math.min(...a).toFixed(0)}-${Math.max(...a).toFixed(0)}`;
const read = (f) => JSON.parse(fs.readFileSync(`${work}/${f}`));
console.log("\n| model | threads | tokens/text | llama.cpp F16 prefill tokens/s | tern tokens/s | ratio | tern embeddings/s | tern, 8 texts per batch: tokens/s |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const arch of ["qwen3", "gemma3"])
    for (const t of threads.split(","))
        for (const n of lengths.split(",")) {
            const l = [], tt = [], b = [], ratio = [];
            for (let r = 1; r <= Number(rounds); r++) {
                const lj = read(`l-${arch}-${t}-${n}-${r}.json`);
                const tj = read(`t-${arch}-${t}-${n}-${r}.json`)[0];
                if (fs.existsSync(`${work}/b-${arch}-${t}-${n}-${r}.json`))
                    b.push(read(`b-${arch}-${t}-${n}-${r}.json`)[0].tps_median);
                l.push(lj.pp_tps), tt.push(tj.tps_median), ratio.push(tj.tps_median / lj.pp_tps);
            }
            const name = arch === "qwen3" ? "0.6B (Qwen3)" : "270M (Gemma3)";
            console.log(`| ${name} | ${t} | ${n} | ${median(l).toFixed(0)} (${spread(l)}) | ${median(tt).toFixed(0)} (${spread(tt)}) | ` +
                `${median(ratio).toFixed(2)}x | ${(median(tt) / n).toFixed(1)} | ${b.length ? `${median(b).toFixed(0)} (${spread(b)})` : "-"} |`);
        }
EOF
