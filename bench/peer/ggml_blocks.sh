#!/usr/bin/env bash
# Regenerates tests/data/ggml-blocks.bin with llama.cpp's ggml (see ggml_blocks.c).
#   bench/peer/ggml_blocks.sh [peer-dir]     (default: build/peer, from bench/peer/install.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
peer="${1:-build/peer}"
lib=$(find "$peer/node_modules/@node-llama-cpp" -name libggml-base.so | head -1)
[[ -n $lib ]] || { echo "ggml_blocks: no libggml-base.so under $peer (run bench/peer/install.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O1 -o "$tmp/ggml_blocks" bench/peer/ggml_blocks.c -ldl -lm
"$tmp/ggml_blocks" "$lib" "$tmp/ggml-blocks.bin"
mv "$tmp/ggml-blocks.bin" tests/data/ggml-blocks.bin
echo "wrote tests/data/ggml-blocks.bin from $lib"
