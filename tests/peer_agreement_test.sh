#!/usr/bin/env bash
# tern and llama.cpp (npm node-llama-cpp, installed into the build tree by
# scripts/setup.sh) must agree on the tiny model's logits, prompt and three
# decoding steps, with either LM head: the check is bench/peer/agreement.sh
# (correlation >= 0.998, same top-1 token or a near tie within 0.1). The model
# uses SiLU, the activation llama.cpp runs for `bitnet`. Exit 77 (skipped) when
# node or node-llama-cpp is missing.
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
TERN_PEER_DIR=$peer "$src/bench/peer/agreement.sh" "$tern" "$model" "$work"
