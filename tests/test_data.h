// Deterministic random inputs shared by the test suites.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "tern/ternary.h"

namespace tern::test {

inline TernaryMatrix random_ternary(int n, int k, uint32_t seed, float scale = 0.5f) {
    TernaryMatrix m(n, k, scale);
    std::mt19937 rng(seed);
    for (auto& w : m.w) w = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
    return m;
}

inline std::vector<int8_t> random_int8(size_t count, uint32_t seed) {
    std::vector<int8_t> v(count);
    std::mt19937 rng(seed);
    for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    return v;
}

inline std::vector<float> random_float(size_t count, uint32_t seed, float lo = -1.0f,
                                       float hi = 1.0f) {
    std::vector<float> v(count);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    for (auto& x : v) x = d(rng);
    return v;
}

}  // namespace tern::test
