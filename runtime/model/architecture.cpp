// See tern/architecture.h. Facts: llama.cpp's src/llama-arch.cpp and
// src/models/{bitnet,llama}.cpp, bitnet.cpp's fork (build_bitnet_158 runs the
// `bitnet-25` files), and the published 2B4T file (see the README, "Models").
#include "tern/architecture.h"

#include "tern/error.h"

namespace tern {

const char* activation_name(Activation a) { return a == Activation::relu2 ? "relu2" : "silu"; }

Activation parse_activation(const std::string& name) {
    if (name == "relu2") return Activation::relu2;
    if (name == "silu") return Activation::silu;
    throw Error("activation '" + name + "' is not known (expected relu2 or silu)");
}

const char* rope_style_name(RopeStyle r) { return r == RopeStyle::neox ? "neox" : "interleaved"; }

const char* layer_tensor_key(LayerTensor t) {
    // In LayerTensor's order.
    static const char* const keys[] = {"attn_norm",     "attn_q",       "attn_k",   "attn_v",
                                       "attn_sub_norm", "attn_output",  "ffn_norm", "ffn_gate",
                                       "ffn_up",        "ffn_sub_norm", "ffn_down"};
    return keys[static_cast<int>(t)];
}

std::string tensor_name(int layer, LayerTensor t) {
    return "blk." + std::to_string(layer) + "." + layer_tensor_key(t) + ".weight";
}

const std::vector<Architecture>& architectures() {
    static const std::vector<Architecture> table = {
        {"bitnet", "llama.cpp's converter (TQ1_0, TQ2_0), tern gen-model", true, false,
         Activation::relu2,
         "BitNet b1.58 2B4T's squared ReLU (the 2024 bitnet_b1_58 models, which use SiLU, are "
         "recognised by name)",
         RopeStyle::neox},
        {"bitnet-25", "bitnet.cpp (BitNet b1.58 2B4T, I2_S)", true, true, Activation::relu2,
         "BitNet b1.58 2B4T defines squared ReLU", RopeStyle::neox},
        {"llama", "bitnet.cpp (Llama3-8B-1.58, Falcon3 1.58-bit)", false, true, Activation::silu,
         "Llama's gated SiLU", RopeStyle::interleaved},
    };
    return table;
}

const Architecture& find_architecture(const std::string& name, const std::string& path) {
    std::string known;
    for (const Architecture& a : architectures()) {
        if (name == a.name) return a;
        known += (known.empty() ? "" : ", ") + std::string(a.name);
    }
    throw Error(path + ": general.architecture is '" + name +
                "', which tern does not run (supported: " + known + ")");
}

}  // namespace tern
