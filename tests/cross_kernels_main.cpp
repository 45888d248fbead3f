// The kernel exactness check for cross-compiled builds (arm-64 under qemu),
// without GoogleTest, which Debian ships only for the host: every ternary kernel
// of the build against the reference on the 2B4T shapes, small and odd shapes
// and edge values. Prints one line per check and "N passed, M failed".
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "tern/kernels.h"
#include "tern/reference.h"

namespace {

bool check(const tern::KernelInfo& kernel, int k, int n, int m_rows, uint32_t seed, int fill) {
    tern::TernaryMatrix w(n, k, 0.75f);
    std::mt19937 rng(seed);
    for (auto& v : w.w)
        v = fill == 2 ? static_cast<int8_t>(static_cast<int>(rng() % 3) - 1)
                      : static_cast<int8_t>(fill);
    std::vector<int8_t> q(static_cast<size_t>(m_rows) * k);
    for (auto& v : q)
        v = fill == 2 ? static_cast<int8_t>(static_cast<int>(rng() % 256) - 128) : int8_t{-128};
    std::vector<float> s(m_rows, 0.01f), got(static_cast<size_t>(m_rows) * n), want(got.size());
    const tern::PackedMatrix packed = tern::pack(w, kernel.layout());
    tern::ternary_linear(kernel, packed, q.data(), s.data(), m_rows, got.data());
    tern::ref::ternary_linear(w, q.data(), s.data(), m_rows, want.data());
    for (size_t i = 0; i < got.size(); ++i) {
        if (got[i] != want[i]) {
            std::printf("FAIL %s K=%d N=%d M=%d: output %zu is %g, reference %g\n",
                        kernel.name.c_str(), k, n, m_rows, i, got[i], want[i]);
            return false;
        }
    }
    std::printf("ok   %s K=%d N=%d M=%d%s\n", kernel.name.c_str(), k, n, m_rows,
                fill == 2 ? "" : (" all " + std::to_string(fill) + ", activations -128").c_str());
    return true;
}

}  // namespace

int main() {
    const int shapes[][2] = {{2560, 2560}, {2560, 640}, {2560, 6912}, {6912, 2560},
                             {4, 1},       {100, 7},    {129, 65},    {1000, 300}};
    int passed = 0, failed = 0;
    try {
        for (const tern::KernelInfo& kernel : tern::kernels()) {
            if (!kernel.is_ternary()) continue;
            const int m_rows = kernel.m_tile() == 1 ? 1 : 2 * kernel.m_tile() + 1;
            for (const auto& shape : shapes) {
                // The full-size GEMM checks are slow under emulation; small ones cover tiling.
                if (m_rows > 1 && shape[0] * shape[1] > 2560 * 640) continue;
                (check(kernel, shape[0], shape[1], m_rows, shape[0] + shape[1], 2) ? passed
                                                                                   : failed)++;
            }
            for (int fill : {-1, 0, 1})
                (check(kernel, 300, 70, m_rows, 1, fill) ? passed : failed)++;
        }
    } catch (const std::exception& e) {
        std::printf("FAIL: %s\n", e.what());
        ++failed;
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
