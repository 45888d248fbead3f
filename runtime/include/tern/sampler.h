// Choosing the next token from logits: greedy, or temperature with top-k and
// top-p filtering, after a repetition penalty; reproducible for a given seed.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace tern {

struct SamplerOptions {
    float temperature = 0.8f;  // 0: greedy
    int top_k = 40;            // 0: no limit
    float top_p = 0.95f;       // 1: no limit
    float repeat_penalty =
        1.1f;  // 1: none (llama.cpp's rule: positive logits divided, negative multiplied)
    int repeat_last_n = 64;  // how many recent tokens the penalties look at
    // OpenAI's penalties over the same recent tokens: a logit loses
    // presence_penalty if its token occurs there, and frequency_penalty per
    // occurrence (0: none; -2 to 2).
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplerOptions& options);
    // Picks a token; `recent` are the tokens so far (the penalty reads the last
    // repeat_last_n). logits is modified.
    int sample(std::vector<float>& logits, const std::vector<int>& recent);

private:
    SamplerOptions o_;
    std::mt19937_64 rng_;
};

}  // namespace tern
