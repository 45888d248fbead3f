#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, then runs the
# main job on the embedded default. Until the model runtime lands that job is the
# kernel benchmark table: every kernel family at the BitNet b1.58 2B4T shapes,
# decode (GEMV, weights streamed from memory) and prompt processing (GEMM),
# 1 and 2 threads, beside the machine's read bandwidth. Extra arguments go to
# the benchmark (for example --benchmark_filter=tmad).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
exec build/bench/kernels_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_min_time=0.2 \
    --benchmark_filter='read_bandwidth|gemv_(stream|cached)/[a-z0-9-]+/(tmad|tadd|tlut)_gemv/|gemm_m(128|512)/' "$@"
