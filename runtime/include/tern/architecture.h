// The model architectures tern runs, and what differs between them, in one
// table: BitNet b1.58 files as llama.cpp's converter writes them (`bitnet`), as
// bitnet.cpp writes BitNet b1.58 2B4T (`bitnet-25`), and ternary Llama-shaped
// models (`llama`: bitnet.cpp's Llama3-8B-1.58 and Falcon3 1.58-bit files).
#pragma once

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

struct Architecture {
    const char* name;            // general.architecture, also the prefix of its keys
    const char* origin;          // which tools write such files
    bool sub_norms;              // attn_sub_norm and ffn_sub_norm in every layer
    bool untied_head;            // an output.weight is expected (without one the embedding is used)
    Activation activation;       // when neither the caller, the file nor the family says
    const char* activation_why;  // why that default
    RopeStyle rope;
};

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
std::string tensor_name(int layer, LayerTensor t);  // "blk.<layer>.attn_q.weight"
inline constexpr const char* kTokenEmbdTensor = "token_embd.weight";
inline constexpr const char* kOutputNormTensor = "output_norm.weight";
inline constexpr const char* kOutputTensor = "output.weight";

// Every architecture tern runs, in the order `tern info` lists them.
const std::vector<Architecture>& architectures();
// The architecture named `name`; throws naming the file, the name and the
// supported ones otherwise.
const Architecture& find_architecture(const std::string& name, const std::string& path);

}  // namespace tern
