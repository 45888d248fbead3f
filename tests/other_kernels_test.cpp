// The fused RMSNorm + quantiser and the int8 LM-head GEMV against the reference.
#include <gtest/gtest.h>

#include <cmath>

#include "bundle_test_util.h"
#include "tern/error.h"
#include "tern/gguf_tensors.h"
#include "tern/kernels.h"
#include "tern/read_bandwidth.h"
#include "tern/reference.h"
#include "test_data.h"

namespace tern {
namespace {

using RmsnormQuant = test::OnEachBundle;
using Int8Gemv = test::OnEachBundle;

// The kernel reduces in vector lanes, the reference sequentially, so a value on
// a rounding boundary may land one step apart; everything else is equal.
void expect_quantisation_close(const KernelInfo& kernel, int k, int m_rows, uint32_t seed,
                               float amplitude) {
    auto x = test::random_float(static_cast<size_t>(k) * m_rows, seed, -amplitude, amplitude);
    const auto weight = test::random_float(k, seed + 1, 0.5f, 1.5f);
    std::vector<int8_t> q(x.size()), q_ref(x.size());
    std::vector<float> s(m_rows), s_ref(m_rows);
    rmsnorm_quantize(kernel, x.data(), weight.data(), k, m_rows, 1e-5f, q.data(), s.data());
    for (int m = 0; m < m_rows; ++m)
        ref::rmsnorm_quantize(&x[static_cast<size_t>(m) * k], weight.data(), k, 1e-5f,
                              &q_ref[static_cast<size_t>(m) * k], &s_ref[m]);
    int off_by_one = 0;
    for (size_t i = 0; i < q.size(); ++i) {
        ASSERT_LE(std::abs(q[i] - q_ref[i]), 1) << "k=" << k << " at " << i;
        off_by_one += q[i] != q_ref[i];
    }
    EXPECT_LE(off_by_one, static_cast<int>(q.size() / 1000 + 1)) << "k=" << k;
    for (int m = 0; m < m_rows; ++m) EXPECT_NEAR(s[m], s_ref[m], 1e-5f * s_ref[m]) << "row " << m;
}

TEST_P(RmsnormQuant, MatchesReference) {
    for (int k : {1, 7, 64, 100, 2560, 6912})
        expect_quantisation_close(bundle().kernel("rmsnorm_quant"), k, 3, k, 4.0f);
}

TEST_P(RmsnormQuant, ExtremesReachBothEnds) {
    const int k = 256;
    std::vector<float> x(k, 0.5f), w(k, 1.0f);
    x[3] = -2.0f;  // absmax: quantises to -127
    std::vector<int8_t> q(k);
    float s = 0;
    rmsnorm_quantize(bundle().kernel("rmsnorm_quant"), x.data(), w.data(), k, 1, 1e-6f, q.data(),
                     &s);
    EXPECT_EQ(q[3], -127);
    EXPECT_EQ(q[0], 32);  // 0.5 * 127 / 2 = 31.75
}

TEST_P(RmsnormQuant, ZeroRowGivesZeroScale) {
    const int k = 300;
    std::vector<float> x(2 * k, 0.0f), w(k, 1.0f);
    for (int i = 0; i < k; ++i) x[k + i] = 0.01f * (i - 150);
    std::vector<int8_t> q(2 * k, 42);
    std::vector<float> s(2, -1.0f);
    rmsnorm_quantize(bundle().kernel("rmsnorm_quant"), x.data(), w.data(), k, 2, 1e-5f, q.data(),
                     s.data());
    EXPECT_EQ(s[0], 0.0f);
    for (int i = 0; i < k; ++i) ASSERT_EQ(q[i], 0);
    EXPECT_GT(s[1], 0.0f);
}

// Row-major rows packed into bundle b's int8_gemv layout.
Int8Rows packed_rows(const KernelSet& b, const std::vector<int8_t>& w, const std::vector<float>& rs,
                     int n, int k) {
    Int8Rows rows(b.kernel("int8_gemv"), n, k);
    for (int r = 0; r < n; ++r) rows.set_row(r, &w[static_cast<size_t>(r) * k], rs[r]);
    return rows;
}

TEST_P(Int8Gemv, MatchesReferenceExactly) {
    for (auto [n, k] : {std::pair{8, 16}, {7, 20}, {100, 64}, {1001, 2560}, {4099, 2560}}) {
        const auto w = test::random_int8(static_cast<size_t>(n) * k, n);
        const auto q = test::random_int8(k, k);
        const auto rs = test::random_float(n, 5, 0.001f, 0.02f);
        const Int8Rows rows = packed_rows(bundle(), w, rs, n, k);
        EXPECT_EQ(rows.n_pad() % bundle().kernel("int8_gemv").knob("lanes"), 0);
        for (int r = 0; r < n; r += 7)
            for (int c = 0; c < k; c += 3)
                ASSERT_EQ(rows.get(r, c), w[static_cast<size_t>(r) * k + c]) << r << "," << c;
        std::vector<float> y(n), y_ref(n);
        int8_gemv(rows, q.data(), 0.03f, y.data());
        ref::int8_gemv(w.data(), rs.data(), n, k, q.data(), 0.03f, y_ref.data());
        for (int i = 0; i < n; ++i)
            ASSERT_EQ(y[i], y_ref[i]) << "n=" << n << " k=" << k << " row " << i;
    }
}

// One row runs as one call per thread over equal shares of the row tiles; any
// thread count, more threads than tiles included, gives the reference's result.
TEST_P(Int8Gemv, AnyThreadCount) {
    for (int threads : {1, 3, 4}) {
        set_num_threads(threads);
        for (auto [n, k] : {std::pair{7, 20}, {100, 64}, {1001, 2560}}) {
            const auto w = test::random_int8(static_cast<size_t>(n) * k, n + threads);
            const auto q = test::random_int8(k, k);
            const auto rs = test::random_float(n, 5, 0.001f, 0.02f);
            const Int8Rows rows = packed_rows(bundle(), w, rs, n, k);
            std::vector<float> y(n), y_ref(n);
            int8_gemv(rows, q.data(), 0.03f, y.data());
            ref::int8_gemv(w.data(), rs.data(), n, k, q.data(), 0.03f, y_ref.data());
            for (int i = 0; i < n; ++i)
                ASSERT_EQ(y[i], y_ref[i]) << threads << " threads, n=" << n << " row " << i;
        }
    }
    set_num_threads(0);
}

// Another int8_gemv kernel of the same layout (the batch kernel is one) reads
// the rows as packed, with the same results (tern-tune --in-model swaps head
// kernels this way).
TEST_P(Int8Gemv, AnotherKernelOfTheLayoutReadsTheRows) {
    const int n = 1001, k = 2560;
    const auto w = test::random_int8(static_cast<size_t>(n) * k, 5);
    const auto rs = test::random_float(n, 6, 0.001f, 0.02f);
    const auto q = test::random_int8(k, 7);
    Int8Rows rows = packed_rows(bundle(), w, rs, n, k);
    std::vector<float> y(n), y_ref(n);
    ref::int8_gemv(w.data(), rs.data(), n, k, q.data(), 0.03f, y_ref.data());
    rows.set_kernel(bundle().kernel("int8_gemm"));
    EXPECT_EQ(&rows.kernel(), &bundle().kernel("int8_gemm"));
    int8_gemv(rows, q.data(), 0.03f, y.data());
    EXPECT_EQ(y, y_ref);
}

// The batched head: m activation rows at once, by the bundle's int8_gemm kernel
// (m_tile rows per pass, a last partial tile included) and by the GEMV kernel
// the rows were packed for, each row exactly as the reference computes it.
TEST_P(Int8Gemv, BatchedRowsMatchReferenceExactly) {
    const int n = 1001, k = 2560;
    const auto w = test::random_int8(static_cast<size_t>(n) * k, 3);
    const auto rs = test::random_float(n, 4, 0.001f, 0.02f);
    const Int8Rows rows = packed_rows(bundle(), w, rs, n, k);
    for (int m : {1, 2, 3, 5, 8, 9}) {
        const auto q = test::random_int8(static_cast<size_t>(m) * k, 10 + m);
        const auto qs = test::random_float(m, 20 + m, 0.01f, 0.05f);
        std::vector<float> y(static_cast<size_t>(m) * n), y_ref(n);
        int8_gemm(rows, q.data(), qs.data(), m, y.data());
        for (int r = 0; r < m; ++r) {
            ref::int8_gemv(w.data(), rs.data(), n, k, &q[static_cast<size_t>(r) * k], qs[r],
                           y_ref.data());
            for (int i = 0; i < n; ++i)
                ASSERT_EQ(y[static_cast<size_t>(r) * n + i], y_ref[i])
                    << "m=" << m << " activation row " << r << " output " << i;
        }
    }
}

TEST_P(Int8Gemv, Extremes) {
    const int n = 16, k = 32;
    for (int8_t wv : {int8_t{-128}, int8_t{127}}) {
        for (int8_t xv : {int8_t{-128}, int8_t{127}}) {
            std::vector<int8_t> w(n * k, wv), q(k, xv);
            std::vector<float> rs(n, 1.0f), y(n), y_ref(n);
            int8_gemv(packed_rows(bundle(), w, rs, n, k), q.data(), 1.0f, y.data());
            ref::int8_gemv(w.data(), rs.data(), n, k, q.data(), 1.0f, y_ref.data());
            EXPECT_EQ(y, y_ref);
        }
    }
}

class Int4Gemv : public test::OnEachBundle {};

// The 4-bit head: exact integer sums per group, groups added in float in the
// reference's order, so the kernel agrees to float rounding of that order
// (checked at 1e-5 relative to the row's largest term).
TEST_P(Int4Gemv, MatchesReference) {
    const int G = ref::kInt4Group;
    for (auto [n, k] : {std::pair{8, 64}, {33, 128}, {1001, 2560}}) {
        std::vector<int8_t> w(static_cast<size_t>(n) * k);
        std::vector<uint16_t> scales(static_cast<size_t>(n) * (k / G));
        const auto values = test::random_float(w.size(), n + k, -1.0f, 1.0f);
        for (int r = 0; r < n; ++r)
            ref::quantize_row_int4(&values[static_cast<size_t>(r) * k], k,
                                   &w[static_cast<size_t>(r) * k],
                                   &scales[static_cast<size_t>(r) * (k / G)]);
        Int4Rows rows(bundle().kernel("int4_gemv"), n, k);
        for (int r = 0; r < n; ++r)
            rows.set_row(r, &w[static_cast<size_t>(r) * k],
                         &scales[static_cast<size_t>(r) * (k / G)]);
        for (int r = 0; r < n; r += 5)
            for (int c = 0; c < k; c += 3)
                ASSERT_EQ(rows.get(r, c), w[static_cast<size_t>(r) * k + c]) << r << "," << c;
        // One row runs split across threads (any count); more rows run whole.
        for (int m : {1, 2, 5}) {
            set_num_threads(m == 1 ? 3 : 0);
            const auto q = test::random_int8(static_cast<size_t>(m) * k, 7 * m);
            const auto qs = test::random_float(m, 20 + m, 0.01f, 0.05f);
            std::vector<float> y(static_cast<size_t>(m) * n), y_ref(n);
            int4_gemm(rows, q.data(), qs.data(), m, y.data());
            for (int a = 0; a < m; ++a) {
                ref::int4_gemv(w.data(), scales.data(), n, k, &q[static_cast<size_t>(a) * k], qs[a],
                               y_ref.data());
                for (int i = 0; i < n; ++i) {
                    const float bound = 1e-5f * 8 * 128 * k * qs[a] *
                                        gguf::f16_to_f32(scales[static_cast<size_t>(i) * (k / G)]);
                    ASSERT_NEAR(y[static_cast<size_t>(a) * n + i], y_ref[i], bound + 1e-6f)
                        << "n=" << n << " k=" << k << " m=" << m << " row " << a << " out " << i;
                }
            }
        }
    }
    set_num_threads(0);
}

TEST_P(Int4Gemv, QuantiserKeepsEachGroupWithinItsScale) {
    // Rounding to the nearest of 16 levels per group: every value within half a
    // step of its level, the group's largest magnitude at +-7 steps.
    const int k = 128;
    const auto x = test::random_float(k, 3, -2.0f, 2.0f);
    std::vector<int8_t> w(k);
    std::vector<uint16_t> scales(k / ref::kInt4Group);
    ref::quantize_row_int4(x.data(), k, w.data(), scales.data());
    for (int g = 0; g < k / ref::kInt4Group; ++g) {
        const float s = gguf::f16_to_f32(scales[g]);
        ASSERT_GT(s, 0.0f);
        for (int i = g * ref::kInt4Group; i < (g + 1) * ref::kInt4Group; ++i)
            EXPECT_LE(std::fabs(w[i] * s - x[i]), 0.5f * s + 1e-3f * s) << i;
    }
    EXPECT_THROW(Int4Rows(bundle().kernel("int4_gemv"), 4, 100), Error);
}

INSTANTIATE_TEST_SUITE_P(Bundles, Int4Gemv, testing::ValuesIn(test::bundle_targets()),
                         [](const auto& info) { return test::param_name(info.param); });
INSTANTIATE_TEST_SUITE_P(Bundles, RmsnormQuant, testing::ValuesIn(test::bundle_targets()),
                         [](const auto& info) { return test::param_name(info.param); });
INSTANTIATE_TEST_SUITE_P(Bundles, Int8Gemv, testing::ValuesIn(test::bundle_targets()),
                         [](const auto& info) { return test::param_name(info.param); });

// The probe behind tern bench's bound reads any region, at any alignment and
// length, on one or two threads, and really reads it (the sum sees the bytes).
TEST(ReadBandwidth, ReadsUnalignedRegionsOnEveryThreadCount) {
    std::vector<uint8_t> bytes(3 << 20);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 3);
    for (size_t offset : {0, 1, 8, 32, 100}) {
        for (int threads : {1, 2}) {
            const std::vector<Region> regions = {{bytes.data() + offset, (1 << 20) + 77},
                                                 {bytes.data() + (2 << 20) + offset, 4096}};
            uint64_t before = 0, after = 0;
            const double gbs = read_bandwidth_gbs(regions, threads, &before);
            EXPECT_TRUE(std::isfinite(gbs) && gbs > 0) << offset << " " << threads;
            bytes[offset] ^= 0x5a;
            read_bandwidth_gbs(regions, threads, &after);
            bytes[offset] ^= 0x5a;
            EXPECT_NE(before, after) << "the sum did not see the first byte, offset " << offset;
        }
    }
    set_num_threads(0);
}

}  // namespace
}  // namespace tern
