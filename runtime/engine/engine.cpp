// See tern/engine.h. A step gathers, for every active request, either its next
// chunk of prompt or its last sampled token, runs them as one batch
// (Model::eval_batch), then samples the next token of every request whose
// prompt is done.
#include "tern/engine.h"

#include <algorithm>

#include "tern/error.h"

namespace tern {

struct Engine::Request {
    int id = 0, slot = 0;
    std::vector<int> prompt;
    size_t prompt_done = 0;  // prompt tokens in the cache (reused or evaluated)
    int cached = 0;          // of which reused from the slot's earlier requests
    GenerationParams params;
    TokenCallback on_token;
    Sampler sampler;
    std::vector<int> history;  // prompt and generated tokens (the penalties' window)
    int generated = 0;
    int pending_token = -1;  // sampled, to be evaluated by the next step
    std::string text;        // generated text not yet passed on
    bool cancelled = false;
    Request(const GenerationParams& p) : params(p), sampler(p.sampling) {}
};

Engine::~Engine() = default;

const char* finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::stop:
            return "stop";
        case FinishReason::length:
            return "length";
        case FinishReason::cancelled:
            return "cancelled";
        default:
            return "";
    }
}

std::unique_ptr<Engine> Engine::load(const std::string& path, const EngineOptions& options) {
    if (options.slots < 1) throw Error("engine: slots must be at least 1");
    if (options.prefill_chunk < 1) throw Error("engine: prefill_chunk must be at least 1");
    std::unique_ptr<Engine> e(new Engine);
    e->options_ = options;
    e->options_.model.n_seq = options.slots;
    e->model_ = Model::load(path, e->options_.model);
    e->tokenizer_ = Tokenizer::from_gguf(e->model_->file());
    e->slots_.resize(options.slots);
    e->cached_.resize(options.slots);
    e->last_used_.assign(options.slots, 0);
    return e;
}

int Engine::active() const {
    return static_cast<int>(
        std::count_if(slots_.begin(), slots_.end(), [](const auto& r) { return r != nullptr; }));
}

int Engine::submit(std::vector<int> prompt, const GenerationParams& params,
                   TokenCallback on_token) {
    if (prompt.empty()) throw Error("the prompt is empty");
    if (params.max_tokens < 1) throw Error("max_tokens must be at least 1");
    const int n_ctx = model_->context();
    if (static_cast<int>(prompt.size()) >= n_ctx)
        throw Error("the prompt has " + std::to_string(prompt.size()) +
                    " tokens, more than the context of " + std::to_string(n_ctx) +
                    " allows (one token must remain to generate)");
    if (static_cast<int>(prompt.size()) + params.max_tokens > n_ctx)
        throw Error("the prompt's " + std::to_string(prompt.size()) + " tokens and max_tokens " +
                    std::to_string(params.max_tokens) + " exceed the context of " +
                    std::to_string(n_ctx));
    for (int t : prompt)
        if (t < 0 || t >= tokenizer_.n_vocab())
            throw Error("token id " + std::to_string(t) + " is outside the vocabulary of " +
                        std::to_string(tokenizer_.n_vocab()));
    size_t shared = 0;
    const int slot = choose_slot(prompt, params.cache_prompt, &shared);
    if (slot < 0) throw Error("no free slot");
    // The last prompt token is always evaluated: its logits give the first token.
    const size_t keep = std::min(shared, prompt.size() - 1);
    model_->truncate(slot, static_cast<int>(keep));
    cached_[slot].resize(keep);
    last_used_[slot] = static_cast<uint64_t>(next_id_) + 1;
    reused_ += keep;
    auto r = std::make_unique<Request>(params);
    r->id = next_id_++;
    r->slot = slot;
    r->prompt = std::move(prompt);
    r->prompt_done = keep;
    r->cached = static_cast<int>(keep);
    r->history = r->prompt;
    r->on_token = std::move(on_token);
    const int id = r->id;
    slots_[slot] = std::move(r);
    return id;
}

int Engine::choose_slot(const std::vector<int>& prompt, bool cache_prompt, size_t* shared) const {
    int best = -1;
    size_t best_shared = 0;
    for (int s = 0; s < static_cast<int>(slots_.size()); ++s) {
        if (slots_[s]) continue;
        const std::vector<int>& have = cached_[s];
        size_t n = 0;
        if (cache_prompt)
            while (n < have.size() && n < prompt.size() && have[n] == prompt[n]) ++n;
        if (best < 0 || n > best_shared || (n == best_shared && last_used_[s] < last_used_[best])) {
            best = s;
            best_shared = n;
        }
    }
    *shared = best_shared;
    return best;
}

void Engine::cancel(int id) {
    for (auto& r : slots_)
        if (r && r->id == id) r->cancelled = true;
}

// The part of the generated text that can no longer change: all of it at the
// end; before, all but an incomplete UTF-8 character and the longest tail that
// begins one of the stop strings.
std::string Engine::take_final_text(Request& r, bool at_end) {
    size_t keep = 0;
    if (!at_end) {
        for (const std::string& s : r.params.stop)
            for (size_t n = std::min(s.empty() ? 0 : s.size() - 1, r.text.size()); n > keep; --n)
                if (r.text.compare(r.text.size() - n, n, s, 0, n) == 0) {
                    keep = n;
                    break;
                }
        // An incomplete UTF-8 sequence at the end waits for its continuation bytes.
        size_t i = r.text.size(), back = 0;
        while (i > 0 && back < 4 && (static_cast<unsigned char>(r.text[i - 1]) & 0xC0) == 0x80)
            --i, ++back;
        if (i > 0) {
            const unsigned char lead = static_cast<unsigned char>(r.text[i - 1]);
            const size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
            if (need > back) keep = std::max(keep, back + 1);
        }
    }
    std::string out = r.text.substr(0, r.text.size() - keep);
    r.text.erase(0, out.size());
    return out;
}

void Engine::finish(Request& r, FinishReason why, int token) {
    TokenEvent e;
    e.id = r.id;
    e.token = token;
    e.text = take_final_text(r, true);
    e.finish = why;
    e.prompt_tokens = static_cast<int>(r.prompt.size());
    e.completion_tokens = r.generated;
    e.cached_tokens = r.cached;
    TokenCallback callback = std::move(r.on_token);
    slots_[r.slot].reset();
    if (callback) callback(e);
}

bool Engine::step() {
    for (auto& r : slots_)
        if (r && r->cancelled) finish(*r, FinishReason::cancelled, -1);
    std::vector<Model::Batch> batch;
    std::vector<Request*> owners;
    for (auto& r : slots_) {
        if (!r) continue;
        Model::Batch b;
        b.seq = r->slot;
        if (r->prompt_done < r->prompt.size()) {
            const size_t n = std::min(r->prompt.size() - r->prompt_done,
                                      static_cast<size_t>(options_.prefill_chunk));
            b.tokens.assign(r->prompt.begin() + static_cast<long>(r->prompt_done),
                            r->prompt.begin() + static_cast<long>(r->prompt_done + n));
            r->prompt_done += n;
        } else {
            b.tokens = {r->pending_token};
        }
        batch.push_back(std::move(b));
        owners.push_back(r.get());
    }
    if (batch.empty()) return false;
    std::vector<std::vector<float>> logits = model_->eval_batch(batch);
    for (const Model::Batch& b : batch) {
        evaluated_ += b.tokens.size();
        cached_[b.seq].insert(cached_[b.seq].end(), b.tokens.begin(), b.tokens.end());
    }
    for (size_t i = 0; i < owners.size(); ++i) {
        Request& r = *owners[i];
        if (r.prompt_done < r.prompt.size()) continue;  // more prompt to come
        const int token = r.sampler.sample(logits[i], r.history);
        if (!r.params.ignore_eos && tokenizer_.is_end_of_generation(token)) {
            finish(r, FinishReason::stop, token);
            continue;
        }
        ++r.generated;
        r.history.push_back(token);
        r.pending_token = token;
        r.text += tokenizer_.decode(token);
        // A stop string ends the text before it.
        size_t cut = std::string::npos;
        for (const std::string& s : r.params.stop)
            if (!s.empty()) cut = std::min(cut, r.text.find(s));
        if (cut != std::string::npos) {
            r.text.resize(cut);
            finish(r, FinishReason::stop, token);
            continue;
        }
        if (r.generated >= r.params.max_tokens ||
            model_->position(r.slot) + 1 >= model_->context()) {
            finish(r, FinishReason::length, token);
            continue;
        }
        TokenEvent e;
        e.id = r.id;
        e.token = token;
        e.text = take_final_text(r, false);
        e.prompt_tokens = static_cast<int>(r.prompt.size());
        e.completion_tokens = r.generated;
        e.cached_tokens = r.cached;
        if (r.on_token) r.on_token(e);
    }
    return true;
}

}  // namespace tern
