// One generator instance compiled in-process with Halide's JIT. It runs the same
// generator code the build runs ahead of time, through the same argv entry point,
// so what the tuner verifies and times is what a bundle will contain.
#pragma once

#include <map>
#include <string>

#include "Halide.h"
#include "tern/kernels.h"

namespace tern::tune {

class JitKernel {
public:
    // Throws tern::Error naming the generator and knobs when Halide rejects them.
    JitKernel(const std::string& generator, const std::map<std::string, int>& knobs,
              const Halide::Target& target, const std::string& name);

    const KernelInfo& info() const { return info_; }

private:
    Halide::Internal::JITModule module_;
    KernelInfo info_;
};

// "lanes=8 kblock=16 ..." for messages and logs.
std::string describe_knobs(const std::map<std::string, int>& knobs);

}  // namespace tern::tune
