// The sampler: greedy picks the argmax, a fixed seed reproduces its choices,
// top-k 1 is greedy, the repetition penalty lowers repeated tokens.
#include "tern/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tern/error.h"

namespace tern {
namespace {

std::vector<float> logits() { return {0.1f, 2.0f, 1.9f, -1.0f, 0.5f, 1.95f}; }

TEST(Sampler, GreedyPicksTheLargestLogit) {
    SamplerOptions o;
    o.temperature = 0;
    o.repeat_penalty = 1;
    auto l = logits();
    EXPECT_EQ(Sampler(o).sample(l, {}), 1);
}

TEST(Sampler, FixedSeedReproducesAndSeedsDiffer) {
    SamplerOptions o;
    o.temperature = 1.5f;
    o.top_k = 0;
    o.top_p = 1;
    o.seed = 42;
    auto draw = [&](uint64_t seed) {
        o.seed = seed;
        Sampler s(o);
        std::vector<int> picks;
        for (int i = 0; i < 64; ++i) {
            auto l = logits();
            picks.push_back(s.sample(l, {}));
        }
        return picks;
    };
    EXPECT_EQ(draw(42), draw(42));
    EXPECT_NE(draw(42), draw(43));
}

TEST(Sampler, TopKOneIsGreedyAndTopPKeepsTheHead) {
    SamplerOptions o;
    o.temperature = 5;
    o.top_k = 1;
    o.repeat_penalty = 1;
    Sampler s(o);
    for (int i = 0; i < 20; ++i) {
        auto l = logits();
        EXPECT_EQ(s.sample(l, {}), 1);
    }
    o.top_k = 0;
    o.top_p = 0.05f;  // the most likely token alone reaches it
    Sampler p(o);
    for (int i = 0; i < 20; ++i) {
        auto l = logits();
        EXPECT_EQ(p.sample(l, {}), 1);
    }
}

TEST(Sampler, RepetitionPenaltyDemotesRecentTokens) {
    SamplerOptions o;
    o.temperature = 0;
    o.repeat_penalty = 1.5f;
    auto l = logits();
    EXPECT_EQ(Sampler(o).sample(l, {1}), 5);  // 2.0 / 1.5 falls below 1.95
    EXPECT_FLOAT_EQ(l[1], 2.0f / 1.5f);
    o.repeat_last_n = 1;
    auto m = logits();
    EXPECT_EQ(Sampler(o).sample(m, {1, 3}), 1);  // only the last token (3) is penalised
    EXPECT_FLOAT_EQ(m[3], -1.5f);
}

// NaN and infinite logits (a damaged model) keep sampling defined: NaN never
// wins, +inf does, and sampled ids stay in range.
TEST(Sampler, NonFiniteLogitsStayDefined) {
    const float nan = std::nanf(""), inf = INFINITY;
    for (float temperature : {0.0f, 0.8f}) {
        SamplerOptions o;
        o.temperature = temperature;
        o.top_k = 3;
        Sampler s(o);
        std::vector<float> logits = {nan, 1.0f, inf, nan, -inf, 2.0f};
        EXPECT_EQ(s.sample(logits, {}), 2);
        std::vector<float> all_nan(8, nan);
        const int id = s.sample(all_nan, {});
        EXPECT_TRUE(id >= 0 && id < 8) << id;
    }
}

TEST(Sampler, BadSettingsAreErrors) {
    SamplerOptions o;
    o.top_p = 0;
    EXPECT_THROW(Sampler{o}, Error);
    o = {};
    o.temperature = -1;
    EXPECT_THROW(Sampler{o}, Error);
}

}  // namespace
}  // namespace tern
