// The engine: sequences stepped together (prompts in chunks between other
// sequences' decode steps, requests joining while others run) give what each
// gives alone; stop strings, length limits, cancellation and bad requests.
#include "tern/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "tern/error.h"
#include "tern/synthetic_model.h"

namespace tern {
namespace {

namespace fs = std::filesystem;

class EngineTest : public testing::Test {
protected:
    static void SetUpTestSuite() {
        path_ = (fs::temp_directory_path() /
                 ("tern_engine_test_" + std::to_string(::getpid()) + ".gguf"))
                    .string();
        SyntheticModelOptions o;
        o.arch = "bitnet-25";
        o.seed = 17;
        write_synthetic_model(path_, model_preset("tiny"), o);
    }
    static void TearDownTestSuite() { fs::remove(path_); }

    static std::unique_ptr<Engine> engine(int slots, int chunk) {
        EngineOptions o;
        o.model.n_ctx = 96;
        o.model.threads = 2;
        o.slots = slots;
        o.prefill_chunk = chunk;
        return Engine::load(path_, o);
    }

    struct Result {
        std::vector<int> tokens;
        std::string text;
        FinishReason finish = FinishReason::none;
        int events = 0, completion_tokens = 0, cached_tokens = -1;
        int last_token = -1;  // the token the finishing event names
    };
    static TokenCallback record(Result* r) {
        return [r](const TokenEvent& e) {
            ++r->events;
            if (e.token >= 0 && e.finish == FinishReason::none) r->tokens.push_back(e.token);
            r->text += e.text;
            if (r->cached_tokens < 0) r->cached_tokens = e.cached_tokens;
            EXPECT_EQ(r->cached_tokens, e.cached_tokens);  // the same in every event
            if (e.finish != FinishReason::none) {
                r->last_token = e.token;
                r->finish = e.finish;
                r->completion_tokens = e.completion_tokens;
            }
        };
    }
    static GenerationParams greedy(int max_tokens) {
        GenerationParams p;
        p.max_tokens = max_tokens;
        p.sampling.temperature = 0;
        p.sampling.repeat_penalty = 1.0f;
        p.ignore_eos = true;
        return p;
    }
    static void run(Engine& e) {
        for (int i = 0; i < 1000 && e.step(); ++i) {
        }
        ASSERT_EQ(e.active(), 0);
    }
    static std::string path_;
};
std::string EngineTest::path_;

const std::vector<std::vector<int>> kPrompts = {
    {1, 17, 300, 5, 77, 9, 12, 600, 2, 33, 8}, {42}, {9, 8, 7, 6, 5}, {512, 1000, 3}};

TEST_F(EngineTest, SequencesTogetherEqualEachAlone) {
    std::vector<Result> alone(kPrompts.size());
    {
        auto e = engine(1, 64);
        for (size_t i = 0; i < kPrompts.size(); ++i) {
            e->submit(kPrompts[i], greedy(8), record(&alone[i]));
            run(*e);
            EXPECT_EQ(alone[i].finish, FinishReason::length);
            EXPECT_EQ(alone[i].completion_tokens, 8);
        }
    }
    // Four slots, prompts in chunks of 3; the last request joins after two steps.
    auto e = engine(4, 3);
    std::vector<Result> together(kPrompts.size());
    for (size_t i = 0; i + 1 < kPrompts.size(); ++i)
        e->submit(kPrompts[i], greedy(8), record(&together[i]));
    e->step();
    e->step();
    e->submit(kPrompts.back(), greedy(8), record(&together.back()));
    run(*e);
    for (size_t i = 0; i < kPrompts.size(); ++i) {
        EXPECT_EQ(together[i].tokens, alone[i].tokens) << "request " << i;
        EXPECT_EQ(together[i].text, alone[i].text) << "request " << i;
    }
    EXPECT_EQ(e->free_slots(), 4);
}

TEST_F(EngineTest, StopStringsEndTheTextBeforeThem) {
    Result full;
    auto e = engine(2, 64);
    e->submit(kPrompts[0], greedy(16), record(&full));
    run(*e);
    ASSERT_GE(full.text.size(), 8u);
    // A stop string from the middle of the text: everything before it, and no more.
    const std::string stop = full.text.substr(full.text.size() / 2, 3);
    const size_t at = full.text.find(stop);
    GenerationParams p = greedy(16);
    p.stop = {"never appears \x01", stop};
    Result cut;
    e->submit(kPrompts[0], p, record(&cut));
    run(*e);
    EXPECT_EQ(cut.text, full.text.substr(0, at));
    EXPECT_EQ(cut.finish, FinishReason::stop);
}

// A conversation's next turn resends the earlier ones: it takes the slot that
// holds them and evaluates only what is new, with the same output as a whole
// evaluation; requests that share nothing take the slot used least recently.
TEST_F(EngineTest, ANextTurnReusesTheSlotHoldingItsPrefix) {
    const std::vector<int>& turn1 = kPrompts[0];
    std::vector<int> turn2;
    Result first, other, second, third, whole;
    auto e = engine(2, 8);
    e->submit(turn1, greedy(6), record(&first));  // slot 0
    run(*e);
    EXPECT_EQ(first.cached_tokens, 0);
    e->submit(kPrompts[2], greedy(4), record(&other));  // slot 1, the one used least recently
    run(*e);
    EXPECT_EQ(other.cached_tokens, 0);

    turn2 = turn1;
    turn2.insert(turn2.end(), first.tokens.begin(), first.tokens.end());
    turn2.push_back(first.last_token);
    turn2.insert(turn2.end(), {70, 71, 72, 73, 74});
    const uint64_t evaluated = e->tokens_evaluated();
    e->submit(turn2, greedy(6), record(&second));
    run(*e);
    // Slot 0 holds turn 1 and all but the last generated token (sampled, never
    // evaluated); the rest of turn 2 is evaluated, then 5 generated tokens.
    const int held = static_cast<int>(turn1.size()) + first.completion_tokens - 1;
    EXPECT_EQ(second.cached_tokens, held);
    EXPECT_EQ(e->tokens_evaluated() - evaluated, turn2.size() - held + 5);
    EXPECT_EQ(e->tokens_reused(), static_cast<uint64_t>(held));

    // The same turn evaluated whole, in an engine of its own and with
    // cache_prompt off in this one: the same tokens.
    {
        auto fresh = engine(1, 8);
        fresh->submit(turn2, greedy(6), record(&whole));
        run(*fresh);
    }
    EXPECT_EQ(second.tokens, whole.tokens);
    EXPECT_EQ(second.text, whole.text);
    GenerationParams off = greedy(6);
    off.cache_prompt = false;
    Result again;
    e->submit(turn2, off, record(&again));  // slot 1 (least recently used), evaluated whole
    run(*e);
    EXPECT_EQ(again.cached_tokens, 0);
    EXPECT_EQ(again.tokens, whole.tokens);

    // A repeated prompt keeps all of it but the last token, whose logits it needs.
    e->submit(turn2, greedy(6), record(&third));
    run(*e);
    EXPECT_EQ(third.cached_tokens, static_cast<int>(turn2.size()) - 1);
    EXPECT_EQ(third.tokens, whole.tokens);
}

TEST_F(EngineTest, CancelAndBadRequests) {
    auto e = engine(2, 64);
    Result r;
    const int id = e->submit(kPrompts[0], greedy(50), record(&r));
    e->step();
    e->cancel(id);
    e->step();
    EXPECT_EQ(r.finish, FinishReason::cancelled);
    EXPECT_EQ(e->active(), 0);
    EXPECT_THROW(e->submit({}, greedy(4), nullptr), Error);
    EXPECT_THROW(e->submit(kPrompts[0], greedy(90), nullptr), Error);  // over the context
    EXPECT_THROW(e->submit({5000}, greedy(4), nullptr), Error);        // not a token
    e->submit(kPrompts[0], greedy(4), nullptr);
    e->submit(kPrompts[1], greedy(4), nullptr);
    EXPECT_THROW(e->submit(kPrompts[2], greedy(4), nullptr), Error);  // no free slot
    run(*e);
}

}  // namespace
}  // namespace tern
