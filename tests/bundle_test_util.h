// Parameterising test suites over the bundles linked into the build.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include "tern/kernels.h"

namespace tern::test {

// Marks the current test skipped (from SetUp or the body) when this CPU cannot
// run bundle b, naming what it lacks.
inline void skip_unless_runnable(const KernelSet& b) {
    std::string missing;
    for (const std::string& f : b.missing_features()) missing += (missing.empty() ? "" : ", ") + f;
    if (!missing.empty())
        GTEST_SKIP() << b.target() << " cannot run on this CPU: it lacks " << missing;
}

inline std::vector<std::string> bundle_targets() {
    std::vector<std::string> out;
    for (const KernelSet& b : bundles()) out.push_back(b.target());
    return out;
}

// A gtest parameter name from any string (x86-64-avx2/tmad_gemv -> x86_64_avx2_tmad_gemv).
inline std::string param_name(std::string s) {
    for (char& c : s)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return s;
}

// A suite run once per linked bundle, skipped where this CPU cannot run it;
// bundle() is the parameter's.
class OnEachBundle : public testing::TestWithParam<std::string> {
protected:
    void SetUp() override { skip_unless_runnable(bundle()); }
    const KernelSet& bundle() const { return tern::bundle(GetParam()); }
};

}  // namespace tern::test
