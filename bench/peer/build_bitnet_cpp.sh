#!/usr/bin/env bash
# Builds bitnet.cpp's llama-bench for its I2_S kernels, the peer issue 22 measures
# tern's AVX2 bundle against, from a source tree of microsoft/BitNet with its
# 3rdparty/llama.cpp submodule filled in (this machine cannot clone; the
# Oct 2024 release is BitNet e9ab883 with Eddie-Wang1120/llama.cpp 406a503).
# Its setup_env.py would also generate TL2 table-lookup kernels for one of three
# named models; I2_S needs none of them, so the generated header is left empty
# and TL2 off. bitnet.cpp requires clang; -march=native (GGML_NATIVE) gives its
# other ops this CPU's widest vectors, its best configuration here.
#   bench/peer/build_bitnet_cpp.sh SRC_DIR   -> SRC_DIR/build/bin/llama-bench
set -euo pipefail
src=$1
[[ -f $src/src/ggml-bitnet-mad.cpp && -f $src/3rdparty/llama.cpp/CMakeLists.txt ]] ||
    { echo "build_bitnet_cpp.sh: '$src' is not a BitNet tree with 3rdparty/llama.cpp" >&2; exit 1; }
command -v clang++-14 > /dev/null || { echo "build_bitnet_cpp.sh: needs clang-14 (apt-get install clang-14)" >&2; exit 1; }
[[ -f $src/include/bitnet-lut-kernels.h ]] || echo '// TL kernels off: I2_S only' > "$src/include/bitnet-lut-kernels.h"
CC=clang-14 CXX=clang++-14 cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release \
    -DBITNET_X86_TL2=OFF -DGGML_NATIVE=ON -DLLAMA_CURL=OFF > "$src/build.log"
cmake --build "$src/build" -j "$(nproc)" --target llama-bench llama-cli >> "$src/build.log"
echo "$src/build/bin/llama-bench"
