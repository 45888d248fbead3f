// The CPU this process runs on: architecture, operating system and the
// instruction-set features that decide which kernel bundle it can run.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace tern {

struct CpuInfo {
    std::string model;  // e.g. "AMD EPYC 9R45" ("unknown CPU" if the OS does not say)
    std::string arch;   // "x86-64" or "arm-64", as in Halide target strings
    std::string os;     // "linux" or "osx"
    // Feature names as Linux's /proc/cpuinfo spells them (avx2, avx512_vnni,
    // asimddp, ...). On x86 they come from cpuid and are only listed when the OS
    // also saves the registers they use (xgetbv), so they are safe to run.
    std::set<std::string> features;
};

// Detected once per process.
const CpuInfo& host_cpu();

// What `cpu` lacks to run code for `halide_target` needing `features`: the
// architecture, the operating system, then each missing feature. Empty means
// it can run it.
std::vector<std::string> missing_features(const std::string& halide_target,
                                          const std::vector<std::string>& features,
                                          const CpuInfo& cpu);

}  // namespace tern
