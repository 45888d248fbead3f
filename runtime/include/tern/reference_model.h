// The plain reference forward pass of a BitNet GGUF model: float weights
// decoded straight from the file (no packing, no generated kernels), double
// accumulation, full causal attention without a cache, and the same per-token
// int8 activation quantisation as the model. Slow; for tests and verification.
#pragma once

#include <vector>

#include "tern/gguf.h"
#include "tern/model.h"

namespace tern::ref {

// Logits of every position (tokens.size() x n_vocab, row-major), LM head at
// the file's precision.
std::vector<float> forward(const gguf::File& file, const std::vector<int>& tokens, Activation act);

}  // namespace tern::ref
