// One generator instance compiled in-process with Halide's JIT. It runs the same
// generator code the build runs ahead of time, through the same argv entry point,
// so what the tuner verifies and times is what a bundle will contain.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "Halide.h"
#include "tern/kernels.h"

namespace tern::tune {

class JitKernel {
public:
    // Throws tern::Error naming the generator and knobs when Halide rejects them.
    // With an autoscheduler name (a loaded plugin: Adams2019, Li2018,
    // Mullapudi2016), the generator's own schedule is replaced by that
    // autoscheduler's, for `threads` cores.
    JitKernel(const std::string& generator, const std::map<std::string, int>& knobs,
              const Halide::Target& target, const std::string& name,
              const std::string& autoscheduler = "", int threads = 1);

    const KernelInfo& info() const { return info_; }

private:
    Halide::Internal::JITModule module_;
    KernelInfo info_;
};

// Loads Halide's autoscheduler plugins named in TERN_AUTOSCHEDULER_PLUGINS (set
// by the build) and returns their names. Throws if a plugin cannot be loaded.
std::vector<std::string> load_autoschedulers();

// "lanes=8 kblock=16 ..." for messages and logs.
std::string describe_knobs(const std::map<std::string, int>& knobs);

}  // namespace tern::tune
