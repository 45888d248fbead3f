// tern convert: a Hugging Face checkpoint of a ternary model to the GGUF layout
// bitnet.cpp writes for it, in C++ and one tensor at a time.
//
// BitNetForCausalLM (BitNet b1.58 2B4T: packed 2-bit weights with weight_scale,
// or master weights quantised with BitNet's absmean) becomes `bitnet-25`;
// ternary LlamaForCausalLM checkpoints (Llama3-8B-1.58, Falcon3 1.58-bit) become
// `llama`, with Q and K rows reordered for interleaved RoPE as llama.cpp's
// converter does.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tern/gguf.h"

namespace tern::convert {

struct ConvertOptions {
    gguf::TensorType weight_type = gguf::TensorType::i2_s;  // i2_s, tq2_0 or tq1_0
    gguf::TensorType embedding_type = gguf::TensorType::f16;
    gguf::TensorType head_type = gguf::TensorType::f16;  // output.weight
    std::string name;                                    // general.name; default: the directory's
};

struct ConvertSummary {
    std::string arch, source_class, weights;  // weights: "packed 2-bit" or "master (absmean)"
    int n_layer = 0, n_embd = 0, n_vocab = 0;
    uint64_t ternary_weights = 0, bytes = 0;
};

// The architectures tern converts, for messages: "BitNetForCausalLM, LlamaForCausalLM".
std::string convertible_architectures();

// Writes `out` atomically. Throws naming the file, key or tensor for anything it
// cannot convert: an unknown architecture (listing the supported ones), a
// non-ternary weight (naming the tensor and value), a shape the chosen type
// cannot hold. progress(done, total) reports bytes written.
ConvertSummary convert_checkpoint(
    const std::string& dir, const std::string& out, const ConvertOptions& options,
    const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

}  // namespace tern::convert
