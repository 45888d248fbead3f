#!/usr/bin/env bash
# Builds tern (installing its Debian packages if missing) and runs the whole test
# suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
ctest --test-dir build --output-on-failure -j "$(nproc)"
