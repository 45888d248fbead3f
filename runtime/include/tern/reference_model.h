// The plain reference forward pass of a BitNet GGUF model: float weights
// decoded straight from the file (no packing, no generated kernels), double
// accumulation, full causal attention without a cache, and the same per-token
// int8 activation quantisation as the model. Slow; for tests and verification.
#pragma once

#include <string>
#include <vector>

#include "tern/gguf.h"
#include "tern/model.h"

namespace tern::ref {

// How activations are quantised before each ternary matmul: per token to int8
// with one absmax scale (BitNet b1.58's definition, what tern runs), per block
// of 256 values with a scale each (llama.cpp's Q8_K, what it runs for TQ1_0 and
// TQ2_0), or not at all (float activations: the limit both approximate).
enum class ActivationQuant { per_token, per_block, none };
ActivationQuant parse_activation_quant(
    const std::string& name);  // "per-token" | "per-block" | "none"

// Logits of every position (tokens.size() x n_vocab, row-major), LM head at
// the file's precision. With CacheType::f16, keys and values are rounded to
// half precision as the model's F16 KV cache stores them.
std::vector<float> forward(const gguf::File& file, const std::vector<int>& tokens, Activation act,
                           ActivationQuant quant = ActivationQuant::per_token,
                           CacheType cache = CacheType::f32);

// The final hidden states after the output norm (tokens.size() x n_embd).
std::vector<float> hidden_states(const gguf::File& file, const std::vector<int>& tokens,
                                 Activation act, ActivationQuant quant = ActivationQuant::per_token,
                                 CacheType cache = CacheType::f32);

// An embedding model's vector of one text: hidden states pooled (mean, first
// or last position), L2-normalised if asked; the file's activation.
std::vector<float> embedding(const gguf::File& file, const std::vector<int>& tokens,
                             Pooling pooling, bool normalize,
                             ActivationQuant quant = ActivationQuant::per_token,
                             CacheType cache = CacheType::f32);

}  // namespace tern::ref
