#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, then runs the
# main job on the embedded default: a synthetic BitNet b1.58 2B4T model (random
# weights, the real shape and LLaMA-3 vocabulary) made once with tern gen-model,
# benchmarked with tern bench (prompt processing 512 tokens, generation 128
# tokens, 1 and 2 threads); then the project's small trained model (converted
# from models/bitnet-tiny-sotu by scripts/setup.sh) writes a few sentences with
# tern run. Extra arguments go to tern bench (for example -r 5 or -o json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
tern=build/runtime/tern
model=build/models/2b4t-tq2_0.gguf
if [[ ! -s $model ]]; then
    mkdir -p build/models
    vocab=()
    [[ -s build/llama3-vocab/tokens.txt ]] && vocab=(--vocab build/llama3-vocab)
    "$tern" gen-model --preset 2b4t --type tq2_0 "${vocab[@]}" --seed 1 -o "$model"
fi
"$tern" info -m "$model" --threads 2 | sed -n '1,/^kernels per weight shape/p'
"$tern" bench -m "$model" -p 512 -n 128 -t 1,2 -r 3 "$@"
"$tern" run -m build/models/tiny-sotu.gguf -p "The Congress of the United States" -n 64 --seed 1
