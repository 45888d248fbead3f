#!/usr/bin/env bash
# tern and llama.cpp (npm node-llama-cpp, installed into the build tree by
# scripts/setup.sh) evaluate the same token sequence on the same tiny model and
# must agree on the last-position logits (correlation >= 0.998, same top-1 token)
# for the prompt and three greedy decoding steps, with either LM head. Both
# follow llama.cpp's greedy tokens, so that every step compares the same
# sequence. Two candidates within 0.1 of each other in both runtimes are a near
# tie either may order first (llama.cpp quantises activations per 256-value block
# and caches keys in F16; the logits differ by up to ~0.15 here). The model uses
# SiLU, the activation llama.cpp runs for `bitnet`. Exit 77 (skipped) when node or
# node-llama-cpp is missing.
#   peer_agreement_test.sh <tern> <peer dir> <source dir> <work dir>
set -euo pipefail
tern=$1 peer=$2 src=$3 work=$4
if ! command -v node > /dev/null || [[ ! -d $peer/node_modules/node-llama-cpp ]]; then
    echo "SKIP: node-llama-cpp not installed in $peer (scripts/setup.sh installs it with npm)"
    exit 77
fi
rm -rf "$work" && mkdir -p "$work"
model=$work/tiny-silu.gguf
"$tern" gen-model --preset tiny --activation silu --seed 11 -o "$model" > /dev/null 2>&1
tokens="1 17 300 5 1023 42 99 640 3 812 77 500"
TERN_PEER_DIR=$peer node "$src/bench/peer/llama_cpp.mjs" logits "$model" --tokens "$tokens" --steps 3 \
    > "$work/llama.json"
follow=$(node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1])).steps;
                   console.log(s.slice(0, -1).map((x) => x.greedy).join(" "))' "$work/llama.json")
status=0
for head in file int8; do
    "$tern" eval -m "$model" --tokens "$tokens" --follow "$follow" --lm-head "$head" > "$work/tern-$head.json"
    echo "tern (LM head $head) against llama.cpp:"
    node "$src/bench/peer/compare_logits.mjs" "$work/tern-$head.json" "$work/llama.json" --min-corr 0.998 --tie 0.1 || status=1
done
exit $status
