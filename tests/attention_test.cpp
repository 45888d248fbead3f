// The vectorised attention (kernels/attention.cpp) of every instruction set this
// CPU runs against a plain softmax in double, over head sizes, group sizes and
// position counts that hit whole and partial key blocks and vectors, with an
// F32 and an F16 cache (the plain softmax reads the same half-rounded keys and
// values, so the tolerance is the same: what is tested is the arithmetic, not
// the rounding). The other float loops of each row against plain loops.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <type_traits>
#include <vector>

#include "kernels/vector_loops.h"
#include "tern/gguf_tensors.h"
#include "tern/reference.h"

namespace tern {
namespace {

struct Case {
    int hd, g, n;
};

class Attention : public ::testing::TestWithParam<Case> {};

// Positions first .. n-1 (a sliding window when first > 0), scores scaled by
// something other than 1/sqrt(hd) so that the factor is seen to be used.
template <typename T>
void check_attention(const VectorLoops& loops, const Case& c, int first) {
    const auto [hd, g, n] = c;
    const int n_head_kv = 2, kvh = 1;  // a second KV head, so strides matter
    const size_t key_floats = key_cache_floats(hd, n);
    const size_t value_stride = static_cast<size_t>(n_head_kv) * hd;
    std::mt19937 rng(hd * 1000 + g * 100 + n);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    std::vector<float> q(static_cast<size_t>(g) * hd), keys(n_head_kv * key_floats),
        values(n * value_stride);
    for (float& v : q) v = normal(rng);
    for (float& v : keys) v = normal(rng);
    for (float& v : values) v = normal(rng);
    std::vector<T> cache_keys(keys.size()), cache_values(values.size());
    auto store = [](float x) {
        if constexpr (std::is_same_v<T, uint16_t>)
            return kv_half(x);
        else
            return x;
    };
    auto read = [](T x) {
        if constexpr (std::is_same_v<T, uint16_t>)
            return gguf::f16_to_f32(x);
        else
            return x;
    };
    for (size_t i = 0; i < keys.size(); ++i) keys[i] = read(cache_keys[i] = store(keys[i]));
    for (size_t i = 0; i < values.size(); ++i) values[i] = read(cache_values[i] = store(values[i]));
    const float* K = &keys[kvh * key_floats];
    const float* V = &values[static_cast<size_t>(kvh) * hd];

    const float scale = 0.7f / std::sqrt(float(hd));
    std::vector<float> scratch(static_cast<size_t>(g) * (n + kAttentionKeyBlock)),
        out(static_cast<size_t>(g) * hd);
    loops.attend(q.data(), g, hd,
                 KvHeadView<T>{&cache_keys[kvh * key_floats],
                               &cache_values[static_cast<size_t>(kvh) * hd], value_stride},
                 AttentionSpan{first, n, scale}, scratch.data(), out.data());

    for (int h = 0; h < g; ++h) {
        std::vector<double> s(n);
        double mx = -INFINITY, sum = 0;
        for (int j = first; j < n; ++j) {
            double d = 0;
            for (int i = 0; i < hd; ++i) d += double(q[h * hd + i]) * K[key_offset(hd, j, i)];
            s[j] = d * scale;
            mx = std::max(mx, s[j]);
        }
        for (int j = first; j < n; ++j) sum += (s[j] = std::exp(s[j] - mx));
        for (int i = 0; i < hd; ++i) {
            double want = 0;
            for (int j = first; j < n; ++j) want += s[j] / sum * V[j * value_stride + i];
            EXPECT_NEAR(out[h * hd + i], want, 1e-5 * (1 + std::abs(want)))
                << "head " << h << " dim " << i;
        }
    }
}

TEST_P(Attention, MatchesPlainSoftmax) {
    for (const VectorLoops* loops : runnable_vector_loops()) {
        SCOPED_TRACE(loops->name);
        for (int first : {0, GetParam().n / 3, GetParam().n - 1})
            check_attention<float>(*loops, GetParam(), first);
    }
}
TEST_P(Attention, MatchesPlainSoftmaxOverAHalfCache) {
    for (const VectorLoops* loops : runnable_vector_loops()) {
        SCOPED_TRACE(loops->name);
        for (int first : {0, GetParam().n / 3, GetParam().n - 1})
            check_attention<uint16_t>(*loops, GetParam(), first);
    }
}

// The F16 cache's conversions: every finite half widens exactly as ggml's
// (tern's) decoder does, through attention's own vector loads (one cached
// position: the softmax weight is exactly 1, so the output is the value row),
// rounding is to nearest, and values past the half range saturate instead of
// becoming infinities.
TEST(KvHalf, WidensExactlyAndSaturates) {
    const int hd = 16;  // one vector of values per position
    std::vector<uint16_t> keys(key_cache_floats(hd, 1)), values(hd);
    std::vector<float> q(hd, 0.0f), scratch(kAttentionKeyBlock), out(hd);
    for (const VectorLoops* loops : runnable_vector_loops())
        for (uint32_t first = 0; first < 65536; first += hd) {
            for (int i = 0; i < hd; ++i) {
                const uint32_t h = first + i;
                // Infinities and NaNs are never stored: zero in their place.
                values[i] = (h & 0x7c00u) == 0x7c00u ? 0 : static_cast<uint16_t>(h);
            }
            loops->attend(q.data(), 1, hd, KvHeadView<uint16_t>{keys.data(), values.data(), hd},
                          AttentionSpan{0, 1, 0.25f}, scratch.data(), out.data());
            for (int i = 0; i < hd; ++i) {
                const float f = gguf::f16_to_f32(values[i]);
                ASSERT_EQ(out[i], f) << values[i] << " " << loops->name;
                ASSERT_EQ(kv_half(f), values[i]) << values[i];
            }
        }
    EXPECT_EQ(kv_half(1e6f), 0x7bffu);
    EXPECT_EQ(kv_half(-1e30f), 0xfbffu);
    EXPECT_EQ(kv_half(0.1f), gguf::f32_to_f16(0.1f));
}

// The cache's vector rounding equals kv_half on every kind of float: halves'
// normal and subnormal ranges, ties, values past +-65504 and past float's half
// range, over lengths with and without a scalar tail.
TEST(KvHalves, EqualKvHalfEverywhere) {
    std::vector<float> x;
    for (uint32_t bits = 0; bits < (1u << 31); bits += 0x1f3d) {  // ~1e5 floats of each sign
        float f;
        std::memcpy(&f, &bits, sizeof f);
        if (!std::isfinite(f)) continue;
        x.push_back(f);
        x.push_back(-f);
    }
    for (uint32_t h = 0; h < 0x7c00u; ++h)  // every finite half, and the ties above each
        x.push_back(gguf::f16_to_f32(static_cast<uint16_t>(h)) * (1.0f + 0x1p-11f));
    for (const VectorLoops* loops : runnable_vector_loops())
        for (size_t n : {x.size(), size_t{7}, size_t{23}}) {
            std::vector<uint16_t> got(n);
            loops->kv_halves(x.data(), n, got.data());
            for (size_t i = 0; i < n; ++i)
                ASSERT_EQ(got[i], kv_half(x[i])) << x[i] << " " << loops->name;
        }
}

// The F16 head's rows, the dot product and the gated activation of each row
// against plain loops (sums in another order: a relative tolerance), at
// lengths with and without vector tails.
TEST(VectorLoops, HeadAndActivationMatchPlainLoops) {
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (const VectorLoops* loops : runnable_vector_loops()) {
        SCOPED_TRACE(loops->name);
        for (int k : {1, 15, 64, 77, 2560}) {
            const size_t n = 5;
            std::vector<float> x(k), wf(n * k);
            std::vector<uint16_t> w(n * k);
            for (float& v : x) v = normal(rng);
            for (size_t i = 0; i < w.size(); ++i)
                wf[i] = gguf::f16_to_f32(w[i] = gguf::f32_to_f16(normal(rng)));
            std::vector<float> y(n);
            loops->f16_gemv(w.data(), n, k, x.data(), y.data());
            for (size_t r = 0; r < n; ++r) {
                double want = 0, mag = 0;
                for (int i = 0; i < k; ++i) {
                    want += double(wf[r * k + i]) * x[i];
                    mag += std::abs(double(wf[r * k + i]) * x[i]);
                }
                EXPECT_NEAR(y[r], want, 1e-5 * mag + 1e-6) << "f16_gemv k=" << k;
                EXPECT_NEAR(loops->dot(&wf[r * k], x.data(), k), want, 1e-5 * mag + 1e-6)
                    << "dot k=" << k;
            }
            for (Activation a : {Activation::relu2, Activation::silu, Activation::gelu}) {
                std::vector<float> gate(k), up(k), out(k);
                for (float& v : gate) v = 3 * normal(rng);
                for (float& v : up) v = normal(rng);
                loops->gated_activation(a, gate.data(), 0.5f, up.data(), 2.0f, k, out.data());
                for (int i = 0; i < k; ++i) {
                    const double g = 0.5 * gate[i], u = 2.0 * up[i];
                    const double act = ref::gate_activation(a, g);
                    EXPECT_NEAR(out[i], act * u, 1e-5 * (1 + std::abs(act * u)))
                        << activation_name(a) << " k=" << k << " i=" << i;
                }
            }
        }
    }
}

// The table's choice: the widest row a set of features covers.
TEST(VectorLoops, RowFollowsTheFeatures) {
    EXPECT_STREQ(vector_loops_for({}).name, "generic");
    EXPECT_STREQ(vector_loops_for({"asimd", "asimddp"}).name, "generic");
#if defined(__x86_64__) && defined(__GNUC__)
    EXPECT_STREQ(vector_loops_for({"avx2", "fma", "f16c", "sse4_1"}).name, "avx2");
    EXPECT_STREQ(vector_loops_for({"avx2", "fma"}).name, "generic");
    EXPECT_STREQ(vector_loops_for({"avx2", "fma", "f16c", "avx512f", "avx512_vnni"}).name,
                 "avx512f");
#endif
    ASSERT_FALSE(runnable_vector_loops().empty());
    EXPECT_STREQ(runnable_vector_loops().front()->name, "generic");
}

INSTANTIATE_TEST_SUITE_P(Shapes, Attention,
                         ::testing::Values(Case{64, 4, 1}, Case{64, 4, 15}, Case{64, 4, 16},
                                           Case{128, 4, 63}, Case{128, 4, 64}, Case{128, 4, 65},
                                           Case{128, 5, 130}, Case{24, 3, 40}, Case{8, 1, 200},
                                           Case{64, 8, 300}));

}  // namespace
}  // namespace tern
