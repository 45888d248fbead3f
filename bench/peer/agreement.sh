#!/usr/bin/env bash
# tern and llama.cpp on the same token sequence: llama.cpp evaluates it and
# takes three greedy steps; tern follows llama.cpp's tokens (so every step
# compares the same sequence) with each LM head, running SiLU, the activation
# llama.cpp uses for `bitnet`. The last-position logits must correlate >= 0.998
# with the same top-1 token; two candidates within 0.1 of each other in both
# runtimes are a near tie either may order first (llama.cpp quantises
# activations per 256-value block and caches keys in F16). Exit 1 if they
# disagree. With --explain, a disagreement is followed by each side against the
# plain reference forward pass (tern eval --reference) with its own activation
# quantisation, and each quantisation against none.
#   bench/peer/agreement.sh TERN MODEL WORK_DIR [--explain]
# llama.cpp's logits stay in WORK_DIR/llama.json; $TERN_PEER_DIR must hold
# node-llama-cpp.
set -euo pipefail
tern=$1 model=$2 work=$3 explain=${4:-}
here=$(dirname "$0")
tokens="1 17 300 5 1023 42 99 640 3 812 77 500"
mkdir -p "$work"
node "$here/llama_cpp.mjs" logits "$model" --tokens "$tokens" --steps 3 > "$work/llama.json"
follow=$(node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1])).steps;
                  console.log(s.slice(0, -1).map((x) => x.greedy).join(" "))' "$work/llama.json")
status=0
for head in int8 file; do
    "$tern" eval -m "$model" --activation silu --lm-head "$head" --tokens "$tokens" --follow "$follow" \
        > "$work/tern-$head.json" 2> /dev/null
    echo "tern (LM head $head) against llama.cpp:"
    node "$here/compare_logits.mjs" "$work/tern-$head.json" "$work/llama.json" --min-corr 0.998 --tie 0.1 ||
        status=1
done
if [[ $status != 0 && $explain == --explain ]]; then
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
        corr=$( (node "$here/compare_logits.mjs" "$work/$1.json" "$work/$2.json" || true) |
            awk -F'|' 'NR > 2 && NF > 4 {printf "%s ", $3}')
        echo "| $1 / $2 | $corr|"
    done
fi
exit $status
