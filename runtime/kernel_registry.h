// One row of the generated kernel table (see cmake/TernKernels.cmake).
#pragma once

#include <utility>
#include <vector>

namespace tern::detail {

struct KernelEntry {
    const char* name;
    const char* family;
    std::vector<std::pair<const char*, int>> knobs;
    int (*entry)(void** args);  // the generated argv entry point
};

}  // namespace tern::detail
