#!/usr/bin/env bash
# Installs a pinned node-llama-cpp (prebuilt llama.cpp, CPU build for x86-64
# Linux only) into <dir>/node_modules with npm; nothing global.
#   bench/peer/install.sh <dir>
set -euo pipefail
dir=$1
version=3.22.1
if [[ -f $dir/node_modules/node-llama-cpp/package.json ]] &&
    grep -q "\"version\": \"$version\"" "$dir/node_modules/node-llama-cpp/package.json"; then
    exit 0
fi
mkdir -p "$dir"
npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error --omit=optional \
    "node-llama-cpp@$version" "@node-llama-cpp/linux-x64@$version" > "$dir/install.log" 2>&1 ||
    { cat "$dir/install.log" >&2; exit 1; }
