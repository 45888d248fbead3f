// The targets of targets/<name>.yaml and which of them the running CPU can run.
#pragma once

#include <string>
#include <vector>

#include "tern/cpu.h"

namespace tern::tune {

struct TargetInfo {
    std::string name;                       // e.g. "x86-64-avx2"
    std::string halide_target;              // Halide target string
    std::vector<std::string> cpu_features;  // feature names (tern/cpu.h) the target needs
    std::vector<std::string> families;
    std::vector<int> tmad_dot;    // legal tmad dot kinds (knob_space.h DotKind)
    std::vector<int> tmad_lanes;  // legal tmad lanes; empty: every value of knob_space.h
    int vector_bits = 0;          // widest vector a kernel may use (0: no limit)
    // Vector registers the bundle's code has, where the tuner's JIT code has more
    // (0: the JIT's own): tmad candidates whose accumulators would spill are left out.
    int vector_registers = 0;
    // Where the bundle's objects are compiled by llc for another LLVM CPU than
    // Halide's (see cmake/TernRelower.cmake): that CPU, and the features the
    // tuner's JIT code (compiled by Halide for halide_target) needs beyond
    // cpu_features. Empty otherwise.
    std::string llvm_cpu;
    std::vector<std::string> jit_cpu_features;
};

// Reads every targets/*.yaml under dir. Throws tern::Error naming the file,
// line and key on malformed input.
std::vector<TargetInfo> load_targets(const std::string& dir);
// One target file's text; `file` names it in errors. Throws tern::Error, and no
// other exception, on any malformed input.
TargetInfo parse_target(const std::string& yaml, const std::string& file);

using HostCpu = tern::CpuInfo;
inline const HostCpu& detect_host_cpu() { return tern::host_cpu(); }

// Features the CPU lacks to run t's kernels as the tuner JIT-compiles them
// (cpu_features and jit_cpu_features; empty: it can tune t).
std::vector<std::string> missing_features(const TargetInfo& t, const HostCpu& cpu);

// The target with the most features the CPU has all of; `why` says what was
// chosen over what. Throws if none fits.
const TargetInfo& choose_host_target(const std::vector<TargetInfo>& targets, const HostCpu& cpu,
                                     std::string* why);

}  // namespace tern::tune
