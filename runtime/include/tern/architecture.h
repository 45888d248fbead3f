// The model architectures tern runs, and what differs between them, in one
// table: BitNet b1.58 files as llama.cpp's converter writes them (`bitnet`), as
// bitnet.cpp writes BitNet b1.58 2B4T (`bitnet-25`), and ternary Llama-shaped
// models (`llama`: bitnet.cpp's Llama3-8B-1.58 and Falcon3 1.58-bit files).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tern {

// The feed-forward activation: squared ReLU (BitNet b1.58 2B4T) or SiLU (the
// 2024 BitNet b1.58 models, Llama and Falcon3).
enum class Activation { relu2, silu };
const char* activation_name(Activation a);
Activation parse_activation(const std::string& name);  // "relu2" or "silu"; throws otherwise

// How RoPE pairs the dimensions of a head: NEOX (dimension i with i + n_rot / 2,
// llama.cpp's `bitnet`) or the original interleaving (2i with 2i + 1; `llama`,
// whose converters permute Q and K for it).
enum class RopeStyle { neox, interleaved };
const char* rope_style_name(RopeStyle r);

// GGUF tensor names (llama.cpp's, the same in every architecture here), spelled
// once: the model, its reference, gen-model, convert and the tools read them here.
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
};
const char* layer_tensor_key(LayerTensor t);        // "attn_q"
inline constexpr int kLayerTensors = 11;            // LayerTensor's values: 0 .. kLayerTensors - 1
std::string tensor_name(int layer, LayerTensor t);  // "blk.<layer>.attn_q.weight"
inline constexpr const char* kTokenEmbdTensor = "token_embd.weight";
inline constexpr const char* kOutputNormTensor = "output_norm.weight";
inline constexpr const char* kOutputTensor = "output.weight";

// The width of one side of a weight matrix, from the model's shape: the
// embedding (hidden size), the feed-forward size, or the KV heads' width.
enum class Width { embd, ff, kv };

// Ternary matrices that read the same input, stacked row-wise and run as one
// kernel call (see model.cpp's Linear); a lone matrix is a stack of one.
struct LinearStack {
    std::vector<LayerTensor> tensors;
    Width k;                  // inputs
    std::vector<Width> rows;  // outputs of each tensor, in order
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
    const char* chat_format;    // default prompt format when the file has no chat template
    const char* chat_template;  // the published template gen-model and convert write
    // The first family that matches a file; the last one matches every file.
    std::vector<ModelFamily> families;

    bool has(LayerTensor t) const;
    const ModelFamily& family(const std::string& general_name, int n_embd, int n_layer,
                              int n_ff) const;
};

// A norm's width (attn_norm: the embedding, ffn_sub_norm: the feed-forward
// size, ...); nullopt for the ternary matrices, whose sizes come from stacks.
std::optional<Width> norm_width(LayerTensor t);

// Every architecture tern runs, in the order `tern info` lists them.
const std::vector<Architecture>& architectures();
// The architecture named `name`; throws naming the file, the name and the
// supported ones otherwise.
const Architecture& find_architecture(const std::string& name, const std::string& path);
std::vector<std::string> architecture_names();

}  // namespace tern
