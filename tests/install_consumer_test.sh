#!/usr/bin/env bash
# cmake --install of a built tree, then the consumer project under
# tests/consumer configures against it with find_package(tern), builds and runs.
#   install_consumer_test.sh <build dir> <consumer source> <work dir>
set -euo pipefail
build=$1 consumer=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
for f in lib/libtern.a lib/cmake/tern/ternConfig.cmake include/tern/kernels.h \
         include/tern/bundles/x86_64_avx2.h; do
    [[ -e $work/prefix/$f ]] || { echo "FAIL: $f not installed"; exit 1; }
done
cmake -S "$consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
    > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/build/consumer"
