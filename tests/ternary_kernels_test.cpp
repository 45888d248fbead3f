// Every ternary kernel of every bundle linked into the build equals the reference
// exactly, on random data at the BitNet b1.58 2B4T shapes, on small and odd
// shapes, and on edge cases. Bundles this CPU cannot run are skipped, saying why.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "bundle_test_util.h"
#include "tern/kernels.h"
#include "tern/reference.h"
#include "test_data.h"

namespace tern {
namespace {

struct Shape {
    int k, n;
};

// K x N as the issue names them: (input, output).
const Shape kModelShapes[] = {{2560, 2560}, {2560, 640}, {2560, 6912}, {6912, 2560}};
const Shape kSmallShapes[] = {{4, 1}, {64, 32}, {100, 7}, {129, 65}, {256, 33}, {1000, 300}};

// "<target>/<kernel>" for each ternary kernel of each bundle.
std::vector<std::string> ternary_kernel_names(bool gemm_only) {
    std::vector<std::string> names;
    for (const KernelSet& b : bundles())
        for (const KernelInfo& k : b.kernels())
            if (k.is_ternary() && (!gemm_only || k.m_tile() > 1))
                names.push_back(b.target() + "/" + k.name);
    return names;
}

// Runs kernel and reference on the same inputs and compares the float outputs
// bit for bit: the integer part must be exact and both apply the scales with
// the same float operations.
void expect_matches_reference(const KernelInfo& kernel, const TernaryMatrix& w,
                              const std::vector<int8_t>& q, const std::vector<float>& q_scale,
                              int m_rows) {
    const PackedMatrix packed = pack(w, kernel.layout());
    std::vector<float> got(static_cast<size_t>(m_rows) * w.n, -1.0f);
    std::vector<float> want(got.size());
    ternary_linear(kernel, packed, q.data(), q_scale.data(), m_rows, got.data());
    ref::ternary_linear(w, q.data(), q_scale.data(), m_rows, want.data());
    for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i], want[i]) << kernel.name << " K=" << w.k << " N=" << w.n << " M=" << m_rows
                                   << " at row " << i / w.n << ", output " << i % w.n;
    }
}

void run_random(const KernelInfo& kernel, int k, int n, int m_rows, uint32_t seed) {
    const TernaryMatrix w = test::random_ternary(n, k, seed, 0.75f);
    const auto q = test::random_int8(static_cast<size_t>(m_rows) * k, seed + 1);
    const auto s = test::random_float(m_rows, seed + 2, 0.001f, 0.1f);
    expect_matches_reference(kernel, w, q, s, m_rows);
}

class TernaryKernel : public testing::TestWithParam<std::string> {
protected:
    void SetUp() override { test::skip_unless_runnable(bundle_of_param()); }
    const KernelSet& bundle_of_param() const {
        return bundle(GetParam().substr(0, GetParam().find('/')));
    }
    const KernelInfo& kernel() const {
        return bundle_of_param().kernel(GetParam().substr(GetParam().find('/') + 1));
    }
    // GEMV kernels run one row; GEMM kernels run a few tiles plus a ragged one.
    int rows() const { return kernel().m_tile() == 1 ? 1 : 3 * kernel().m_tile() + 1; }
};

TEST_P(TernaryKernel, ModelShapes) {
    for (const Shape& s : kModelShapes) run_random(kernel(), s.k, s.n, rows(), s.k + s.n);
}

TEST_P(TernaryKernel, SmallAndOddShapes) {
    for (const Shape& s : kSmallShapes) run_random(kernel(), s.k, s.n, rows(), 7 * s.k + s.n);
}

TEST_P(TernaryKernel, EdgeCases) {
    const int k = 300, n = 70, m = rows();
    for (int value : {0, 1, -1}) {
        TernaryMatrix w(n, k, 1.0f);
        std::fill(w.w.begin(), w.w.end(), static_cast<int8_t>(value));
        for (int8_t x : {int8_t{-128}, int8_t{127}}) {
            std::vector<int8_t> q(static_cast<size_t>(m) * k, x);
            std::vector<float> s(m, 1.0f);
            expect_matches_reference(kernel(), w, q, s, m);
        }
    }
    // A zero activation row (absmax 0): scale 0, output exactly 0.
    const TernaryMatrix w = test::random_ternary(n, k, 3);
    std::vector<int8_t> q(static_cast<size_t>(m) * k, 0);
    std::vector<float> s(m, 0.0f);
    expect_matches_reference(kernel(), w, q, s, m);
}

// A single activation row runs as one call per thread over equal shares of the
// row tiles: any thread count, including more threads than tiles, gives the
// reference's result.
TEST_P(TernaryKernel, AnyThreadCount) {
    for (int threads : {1, 3, 4}) {
        set_num_threads(threads);
        for (const Shape& s : {Shape{100, 7}, Shape{129, 65}, Shape{1000, 300}, Shape{2560, 640}})
            run_random(kernel(), s.k, s.n, rows(), 3 * s.k + s.n + threads);
    }
    set_num_threads(0);
}

INSTANTIATE_TEST_SUITE_P(All, TernaryKernel, testing::ValuesIn(ternary_kernel_names(false)),
                         [](const auto& info) { return test::param_name(info.param); });

using TernaryGemm = TernaryKernel;

// Prompt lengths a model runs, including rows that are not a whole tile.
TEST_P(TernaryGemm, PromptLengths) {
    for (int m : {kernel().m_tile(), 128, 512, 129}) run_random(kernel(), 2560, 640, m, m);
}

INSTANTIATE_TEST_SUITE_P(All, TernaryGemm, testing::ValuesIn(ternary_kernel_names(true)),
                         [](const auto& info) { return test::param_name(info.param); });

}  // namespace
}  // namespace tern
