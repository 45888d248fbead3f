#!/usr/bin/env bash
# Builds tern (installing its Debian packages if missing) and runs the whole test
# suite through CTest; then the same suite built with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang-14), each fuzz target for a few seconds
# included (label fuzz). The sanitized run leaves out what does not read input
# through tern's code: the tuner's end-to-end search, install and configure
# checks, and the llama.cpp comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
ctest --test-dir build --output-on-failure -j "$(nproc)"

scripts/setup.sh --sanitize build-sanitize
export UBSAN_OPTIONS=print_stacktrace=1
ctest --test-dir build-sanitize --output-on-failure -j "$(nproc)" \
    -E '^(tune_end_to_end|install_and_consume|configure_errors|peer_agreement)$'
