// Random-weight BitNet b1.58 models with the real architecture, written as GGUF
// files that tern and llama.cpp both load (tern gen-model; the tests' models).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tern/gguf.h"

namespace tern {

struct ModelShape {
    std::string preset;
    int n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_vocab = 0;
    int n_ctx = 4096;
    float rope_theta = 500000.0f;
    float rms_eps = 1e-5f;
    int head_dim() const { return n_embd / n_head; }
};

// "tiny" (4 layers, hidden 256: tests and the default demo) or "2b4t" (BitNet
// b1.58 2B4T: hidden 2560, 30 layers, 20 heads, 5 KV heads, FFN 6912, vocabulary
// 128256). Throws naming the preset and the known ones otherwise. Any field may
// be changed before writing (gen-model's --n-embd and friends).
ModelShape model_preset(const std::string& name);

struct SyntheticModelOptions {
    // The layout: "bitnet" (llama.cpp's converter), "bitnet-25" (bitnet.cpp's
    // BitNet b1.58 2B4T file: untied head) or "llama" (bitnet.cpp's ternary
    // Llama files: no sub-norms, untied head, interleaved RoPE).
    std::string arch = "bitnet";
    // Ternary weights: TQ2_0, TQ1_0, I2_S, or ternary values in F32/F16/BF16.
    gguf::TensorType weight_type = gguf::TensorType::tq2_0;
    gguf::TensorType embedding_type = gguf::TensorType::f16;  // any float type
    // The untied LM head's type (output.weight); unset: the architecture's choice
    // (F16 for bitnet-25 and llama, none for bitnet).
    std::optional<gguf::TensorType> head_type;
    bool tied_head = false;  // no output.weight even where the architecture has one
    // Written as tern.ffn_activation ("relu2" or "silu"); empty: not written, so
    // the architecture decides, as for files from other tools.
    std::string activation;
    uint64_t seed = 1;
    // A directory with tokens.txt, merges.txt and special.txt (one entry per
    // line, see scripts/llama3_vocab.mjs): the real LLaMA-3 vocabulary instead of
    // a placeholder. The vocabulary size then follows the files.
    std::string vocab_dir;
};

// Writes the model atomically. Same shape, options and seed give the same bytes.
// Shapes the types cannot hold (a hidden size that is not a multiple of the
// weight or embedding type's block, heads that do not divide it) are errors
// naming the setting.
// progress(done, total) reports bytes written.
void write_synthetic_model(const std::string& path, const ModelShape& shape,
                           const SyntheticModelOptions& options,
                           const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

}  // namespace tern
