// The engine the CLI, the server and other programs share: a model loaded once,
// sequences that each hold a slot (their own KV cache), and a step that runs the
// new tokens of every active sequence as one batch. Decoding is bound by
// streaming the weights, so a step for eight sequences costs little more than a
// step for one.
//
// Not thread-safe: one thread calls submit, cancel and step (the server's
// engine thread); callbacks run on it, inside step().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tern/chat_format.h"
#include "tern/model.h"
#include "tern/sampler.h"
#include "tern/tokenizer.h"

namespace tern {

struct GenerationParams {
    int max_tokens = 128;           // at most this many tokens (the context may stop it first)
    SamplerOptions sampling;        // temperature 0: greedy
    std::vector<std::string> stop;  // stop strings: generation ends before the first one
    bool ignore_eos = false;        // keep going past end-of-generation tokens
    // Start from the longest prefix of the prompt that a free slot's KV cache
    // already holds (a conversation's earlier turns), evaluating only the rest.
    // The output is the same either way; false evaluates the whole prompt.
    bool cache_prompt = true;
};

enum class FinishReason { none, stop, length, cancelled };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled", "" for none

// What a sequence produced in one step: the text that became final (held back
// while it may still turn into a stop string or finish a UTF-8 character), and
// when the sequence ends, why.
struct TokenEvent {
    int id = 0;      // the request's id
    int token = -1;  // the token sampled this step (-1 when none: cancelled)
    std::string text;
    FinishReason finish = FinishReason::none;
    int prompt_tokens = 0, completion_tokens = 0;
    int cached_tokens = 0;  // prompt tokens taken from the slot's cache, not evaluated
};
using TokenCallback = std::function<void(const TokenEvent&)>;

struct EngineOptions {
    ModelOptions model;      // n_ctx is the context of each slot
    int slots = 1;           // sequences at once
    int prefill_chunk = 64;  // prompt tokens per sequence and step: long prompts are
                             // processed in chunks between other sequences' decode steps
};

class Engine {
public:
    static std::unique_ptr<Engine> load(const std::string& path, const EngineOptions& options);
    ~Engine();

    Model& model() { return *model_; }
    const Tokenizer& tokenizer() const { return tokenizer_; }
    const EngineOptions& options() const { return options_; }

    // Starts a request in a free slot: its prompt is evaluated in the coming
    // steps, then one token per step is sampled until it finishes; every step
    // that makes text final calls on_token, the last call has finish set.
    // A slot keeps its KV cache after its request ends. With
    // params.cache_prompt the request takes the free slot whose cache shares
    // the longest prefix with the prompt, keeps that prefix (all but the last
    // prompt token at most) and evaluates the rest; other requests, and ties,
    // take the free slot used least recently.
    // Returns the request's id (>= 0). Throws tern::Error when the prompt is
    // empty, the prompt and max_tokens do not fit a slot's context, a token id is
    // out of range, or no slot is free (check free_slots()).
    int submit(std::vector<int> prompt, const GenerationParams& params, TokenCallback on_token);
    // Ends a request at the next step (its callback then gets FinishReason::cancelled).
    void cancel(int id);
    // Runs one batch. Returns false (doing nothing) when no request is active.
    bool step();

    int active() const;
    int free_slots() const { return options_.slots - active(); }
    // Tokens evaluated by steps so far (prompt and generated).
    uint64_t tokens_evaluated() const { return evaluated_; }
    // Prompt tokens taken from slots' caches instead of evaluated, so far.
    uint64_t tokens_reused() const { return reused_; }

private:
    struct Request;
    Engine() = default;
    void finish(Request& r, FinishReason why, int token);
    std::string take_final_text(Request& r, bool at_end);

    EngineOptions options_;
    std::unique_ptr<Model> model_;
    Tokenizer tokenizer_;
    int choose_slot(const std::vector<int>& prompt, bool cache_prompt, size_t* shared) const;

    std::vector<std::unique_ptr<Request>> slots_;  // null: free
    std::vector<std::vector<int>> cached_;         // the tokens each slot's KV cache holds
    std::vector<uint64_t> last_used_;              // submit count when each slot was last taken
    int next_id_ = 0;
    uint64_t evaluated_ = 0, reused_ = 0;
};

}  // namespace tern
