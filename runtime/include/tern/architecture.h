// The model architectures tern runs, and what differs between them, in one
// table: BitNet b1.58 files as llama.cpp's converter writes them (`bitnet`), as
// bitnet.cpp writes BitNet b1.58 2B4T (`bitnet-25`), ternary Llama-shaped
// models (`llama`: bitnet.cpp's Llama3-8B-1.58 and Falcon3 1.58-bit files), and
// the BitNet embedding models' Qwen3 and Gemma3 backbones (`qwen3`, `gemma3`:
// bitnet.cpp's BitNet-embedding-0.6B and -270M files).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tern {

// The feed-forward activation of the gate: squared ReLU (BitNet b1.58 2B4T),
// SiLU (the 2024 BitNet b1.58 models, Llama, Falcon3, Qwen3) or GELU in its tanh
// form (Gemma's gelu_pytorch_tanh).
enum class Activation { relu2, silu, gelu };
const char* activation_name(Activation a);
Activation parse_activation(
    const std::string& name);  // "relu2", "silu" or "gelu"; throws otherwise
std::vector<std::string> activation_names();

// How RoPE pairs the dimensions of a head: NEOX (dimension i with i + n_rot / 2,
// llama.cpp's `bitnet`) or the original interleaving (2i with 2i + 1; `llama`,
// whose converters permute Q and K for it).
enum class RopeStyle { neox, interleaved };
const char* rope_style_name(RopeStyle r);

// GGUF tensor names (llama.cpp's and bitnet.cpp's, the same in every
// architecture here), spelled once: the model, its reference, gen-model,
// convert and the tools read them here. In the order gen-model writes them.
enum class LayerTensor {
    attn_norm,
    attn_q,
    attn_k,
    attn_v,
    attn_sub_norm,
    attn_output,
    ffn_norm,
    ffn_gate,
    ffn_up,
    ffn_sub_norm,
    ffn_down,
    // Per-head RMSNorm of queries and keys (Qwen3, Gemma3).
    attn_q_norm,
    attn_k_norm,
    // BitNet's per-projection input norms (the embedding models).
    attn_q_norm_in,
    attn_k_norm_in,
    attn_v_norm_in,
    attn_output_norm_in,
    ffn_gate_norm_in,
    ffn_up_norm_in,
    ffn_down_norm_in,
    // Norms of a block's output before the residual add (Gemma3).
    post_attention_norm,
    post_ffw_norm,
};
const char* layer_tensor_key(LayerTensor t);        // "attn_q"
inline constexpr int kLayerTensors = 22;            // LayerTensor's values: 0 .. kLayerTensors - 1
std::string tensor_name(int layer, LayerTensor t);  // "blk.<layer>.attn_q.weight"
inline constexpr const char* kTokenEmbdTensor = "token_embd.weight";
inline constexpr const char* kOutputNormTensor = "output_norm.weight";
inline constexpr const char* kOutputTensor = "output.weight";

// The width of one side of a weight matrix or norm, from the model's shape:
// the embedding (hidden size), the feed-forward size, the query heads' width
// (heads x head size: the embedding, except where the file sets the head size),
// the KV heads' width, or one head.
enum class Width { embd, ff, q, kv, head };

// Where a stack of matrices sits in a layer: attention in (Q/K/V), attention
// out, feed-forward in (gate/up), feed-forward out.
enum class Stage { attn_in, attn_out, ffn_in, ffn_out };

// Ternary matrices that read the same input, stacked row-wise and run as one
// kernel call (see layer_weights.h's Linear); a lone matrix is a stack of one.
// The input is RMS-normalised with `norm`'s weights (unit weights without
// one) and quantised to int8 just before the call.
struct LinearStack {
    Stage stage;
    std::vector<LayerTensor> tensors;
    Width k;                  // inputs
    std::vector<Width> rows;  // outputs of each tensor, in order
    std::optional<LayerTensor> norm;
};

// A family of models within an architecture, as users name it: recognised by a
// word in general.name or by its shape.
struct ModelFamily {
    const char* name;                        // "Falcon3-1.58bit"
    std::vector<const char*> name_contains;  // any of these in the lower-cased general.name
    int n_embd, n_layer, n_ff;               // or this shape (0 0 0: none)
    std::optional<Activation> activation;    // where it differs from the architecture's
    const char* chat_format;                 // its default chat format ("": the architecture's)
};

// One row per architecture; adding one is a row here plus what its forward
// pass does differently.
struct Architecture {
    const char* name;                        // general.architecture, also the prefix of its keys
    const char* origin;                      // which tools write such files
    std::vector<LayerTensor> layer_tensors;  // what each layer holds, in file order
    // The ternary matrices, in the order the forward pass runs them:
    // attention in (Q/K/V), attention out, feed-forward in, feed-forward out.
    std::vector<LinearStack> stacks;
    bool untied_head;            // an output.weight is expected (without one the embedding is used)
    Activation activation;       // when neither the caller, the file nor the family says
    const char* activation_why;  // why that default
    RopeStyle rope;
    // The residual stream's norm before the attention and feed-forward blocks,
    // applied in float, when every stack of the block then normalises its own
    // input (BitNet's per-projection norms); without one the stacks normalise
    // the residual stream themselves.
    std::optional<LayerTensor> attn_block_norm, ffn_block_norm;
    // Per-head norms of queries and keys after projection, before RoPE.
    std::optional<LayerTensor> q_head_norm, k_head_norm;
    // Norms of a block's output before it is added to the residual stream.
    std::optional<LayerTensor> attn_post_norm, ffn_post_norm;
    bool embedding_scaled;  // token embeddings times sqrt(hidden size) (Gemma)
    // Layers attend within the file's sliding window except every
    // swa_period-th (0: every layer attends to all positions); the local
    // layers' RoPE base is swa_rope_base unless the file says otherwise.
    int swa_period;
    float swa_rope_base;
    const char* chat_format;    // default prompt format when the file has no chat template
    const char* chat_template;  // the published template gen-model and convert write
    // The first family that matches a file; the last one matches every file.
    std::vector<ModelFamily> families;

    bool has(LayerTensor t) const;
    const ModelFamily& family(const std::string& general_name, int n_embd, int n_layer,
                              int n_ff) const;
};

// A norm's width (attn_norm: the embedding, ffn_sub_norm: the feed-forward
// size, attn_q_norm: one head, ...); nullopt for the ternary matrices, whose
// sizes come from stacks.
std::optional<Width> norm_width(LayerTensor t);

// Every architecture tern runs, in the order `tern info` lists them.
const std::vector<Architecture>& architectures();
// The architecture named `name`; throws naming the file, the name and the
// supported ones otherwise.
const Architecture& find_architecture(const std::string& name, const std::string& path);
std::vector<std::string> architecture_names();

}  // namespace tern
