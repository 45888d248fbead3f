// Kernel bundles: the kernels of one target, compiled ahead of time from that
// target's schedule database, and the manifest that describes them.
//
// The build (cmake/TernBundles.cmake) generates one manifest per bundle, a
// constant table of BundleKernel rows returned by tern::manifests::<target>()
// (declared in <tern/bundles/<target>.h>). The runtime links every bundle the
// build's architecture can run and picks the best one the CPU supports at
// start-up.
#pragma once

#include <cstddef>

namespace tern {

struct BundleKnob {
    const char* name;
    int value;
};

// One kernel of a bundle. Tuned kernels name the problem they were tuned for
// (op, k, n, m, threads); generic kernels (op "") serve every other shape.
struct BundleKernel {
    const char* name;    // schedule database name, e.g. "tmad_gemv_2560x6912_t1"
    const char* family;  // generator: tmad, tlut, tadd, rmsnorm_quant, int8_gemv
    const char* op;      // "gemv", "gemm" or "" (generic)
    int k, n, m, threads;
    const BundleKnob* knobs;
    int num_knobs;
    int (*entry)(void** args);  // Halide's argv entry point
    const char* symbol;         // the C function behind entry (without _argv)
};

struct BundleManifest {
    const char* target;         // targets/<target>.yaml
    const char* halide_target;  // what the kernels were compiled for
    const char* const* cpu_features;
    int num_cpu_features;
    const char* schedules;  // the database the bundle was built from
    const BundleKernel* kernels;
    int num_kernels;
};

}  // namespace tern
