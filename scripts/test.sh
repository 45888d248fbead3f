#!/usr/bin/env bash
# Builds tern (installing its Debian packages if missing) and runs the whole test
# suite through CTest; then the same suite built with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang-14), a few seconds of each fuzz target and
# the saved fuzz inputs included (label fuzz).
#
# The sanitized run leaves out what does not read input through tern's code or
# only repeats the plain run: the tuner's end-to-end search, install and
# configure checks, the llama.cpp comparison, the trained model's perplexity
# (its converter input is checked by the convert test), and the kernels at the 2B4T
# model's shapes (Halide's code is not instrumented, so there they would only
# re-check the reference loops; small and odd shapes stay in).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
ctest --test-dir build --output-on-failure -j "$(nproc)"

scripts/setup.sh --sanitize build-sanitize
export UBSAN_OPTIONS=print_stacktrace=1
ctest --test-dir build-sanitize --output-on-failure -j "$(nproc)" \
    -E '^(tune_end_to_end|install_and_consume|configure_errors|peer_agreement|trained_model)$|^All/(TernaryGemm\.PromptLengths|TernaryKernel\.ModelShapes)/'
