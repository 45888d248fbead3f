// Random-weight BitNet b1.58 models with the real architecture, written as GGUF
// files that tern and llama.cpp both load (tern gen-model; the tests' models).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tern/gguf.h"
#include "tern/model.h"

namespace tern {

struct ModelShape {
    std::string preset;
    int n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_vocab = 0;
    int n_ctx = 4096;
    float rope_theta = 500000.0f;
    float rms_eps = 1e-5f;
    int n_swa = 0;       // sliding window of local layers (attention.sliding_window), 0: none
    int n_head_dim = 0;  // the head size, written as attention.key_length; 0: n_embd / n_head
    int head_dim() const { return n_head_dim > 0 ? n_head_dim : n_embd / n_head; }
    ModelWidths widths() const {
        return {n_embd, n_ff, n_head * head_dim(), n_head_kv * head_dim(), head_dim()};
    }
};

// "tiny" (4 layers, hidden 256: tests and the default demo), "2b4t" (BitNet
// b1.58 2B4T: hidden 2560, 30 layers, 20 heads, 5 KV heads, FFN 6912, vocabulary
// 128256), "embedding-0.6b" (BitNet-embedding-0.6B's Qwen3 shape: hidden 1024,
// 28 layers, 16 heads of 128, 8 KV heads, FFN 3072, vocabulary 151936) or
// "embedding-270m" (BitNet-embedding-270M's Gemma3 shape: hidden 640, 18
// layers, 4 heads of 256, 1 KV head, FFN 2048, vocabulary 262144, window 512). Throws naming the
// preset and the known ones otherwise. Any field may be changed before writing (gen-model's
// --n-embd and friends).
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
    // Written as <arch>.pooling_type (an embedding model); unset: last-token
    // pooling for the embedding architectures (qwen3, gemma3), none otherwise.
    std::optional<Pooling> pooling;
    // false: leave out BitNet's per-projection input norms, giving the
    // architecture's standard (dense) layout, which llama.cpp loads: with
    // ternary values in F16 (--type f16) a stand-in of the same shape and size
    // as an F16 teacher, for side-by-side speed. tern itself refuses such files.
    bool input_norms = true;
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
