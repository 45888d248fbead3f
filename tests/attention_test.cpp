// The vectorised attention (runtime/attention.cpp) against a plain softmax in
// double, over head sizes, group sizes and position counts that hit whole and
// partial key blocks and vectors.
#include "model/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace tern {
namespace {

struct Case {
    int hd, g, n;
};

class Attention : public ::testing::TestWithParam<Case> {};

TEST_P(Attention, MatchesPlainSoftmax) {
    const auto [hd, g, n] = GetParam();
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
    const float* K = &keys[kvh * key_floats];
    const float* V = &values[static_cast<size_t>(kvh) * hd];

    std::vector<float> scratch(static_cast<size_t>(g) * (n + kAttentionKeyBlock)),
        out(static_cast<size_t>(g) * hd);
    attend(q.data(), g, hd, KvHeadView{K, V, value_stride}, n, scratch.data(), out.data());

    for (int h = 0; h < g; ++h) {
        std::vector<double> s(n);
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < n; ++j) {
            double d = 0;
            for (int i = 0; i < hd; ++i) d += double(q[h * hd + i]) * K[key_offset(hd, j, i)];
            s[j] = d / std::sqrt(double(hd));
            mx = std::max(mx, s[j]);
        }
        for (double& v : s) sum += (v = std::exp(v - mx));
        for (int i = 0; i < hd; ++i) {
            double want = 0;
            for (int j = 0; j < n; ++j) want += s[j] / sum * V[j * value_stride + i];
            EXPECT_NEAR(out[h * hd + i], want, 1e-5 * (1 + std::abs(want)))
                << "head " << h << " dim " << i;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Attention,
                         ::testing::Values(Case{64, 4, 1}, Case{64, 4, 15}, Case{64, 4, 16},
                                           Case{128, 4, 63}, Case{128, 4, 64}, Case{128, 4, 65},
                                           Case{128, 5, 130}, Case{24, 3, 40}, Case{8, 1, 200},
                                           Case{64, 8, 300}));

}  // namespace
}  // namespace tern
