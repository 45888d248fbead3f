// See tern/architecture.h. Facts: llama.cpp's src/llama-arch.cpp and
// src/models/{bitnet,llama}.cpp, bitnet.cpp's fork (build_bitnet_158 runs the
// `bitnet-25` files), and the published 2B4T file (see the README, "Models").
#include "tern/architecture.h"

#include <cctype>

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

std::optional<Width> norm_width(LayerTensor t) {
    switch (t) {
        case LayerTensor::attn_norm:
        case LayerTensor::attn_sub_norm:
        case LayerTensor::ffn_norm:
            return Width::embd;
        case LayerTensor::ffn_sub_norm:
            return Width::ff;
        default:
            return std::nullopt;
    }
}

std::string tensor_name(int layer, LayerTensor t) {
    return "blk." + std::to_string(layer) + "." + layer_tensor_key(t) + ".weight";
}

namespace {

using T = LayerTensor;

// Every architecture here stacks Q/K/V and gate/up.
const std::vector<LinearStack> kStacks = {
    {{T::attn_q, T::attn_k, T::attn_v}, Width::embd, {Width::embd, Width::kv, Width::kv}},
    {{T::attn_output}, Width::embd, {Width::embd}},
    {{T::ffn_gate, T::ffn_up}, Width::embd, {Width::ff, Width::ff}},
    {{T::ffn_down}, Width::ff, {Width::embd}},
};

const std::vector<LayerTensor> kBitnetLayer = {
    T::attn_norm, T::attn_q,   T::attn_k, T::attn_v,       T::attn_sub_norm, T::attn_output,
    T::ffn_norm,  T::ffn_gate, T::ffn_up, T::ffn_sub_norm, T::ffn_down};
const std::vector<LayerTensor> kLlamaLayer = {T::attn_norm, T::attn_q,      T::attn_k,
                                              T::attn_v,    T::attn_output, T::ffn_norm,
                                              T::ffn_gate,  T::ffn_up,      T::ffn_down};

// The published BitNet b1.58 2B4T and Llama3-8B-1.58 chat templates.
const char* const kBitnetTemplate =
    "{% for message in messages %}{% set content = message['role'] | capitalize + "
    "': ' + message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% "
    "set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if "
    "add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}";
const char* const kLlama3Template =
    "{% for message in messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content "
    "%}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

// BitNet families, the same in both BitNet layouts.
const std::vector<ModelFamily> kBitnetFamilies = {
    // 1bitLLM's reproductions of the 2024 paper (large, 3B): SiLU.
    {"bitnet_b1_58 (2024)", {"bitnet_b1_58", "bitnet-b1.58-large"}, 0, 0, 0, Activation::silu, ""},
    {"BitNet b1.58 2B4T", {"bitnet2b"}, 2560, 30, 6912, std::nullopt, ""},
    {"BitNet b1.58", {}, 0, 0, 0, std::nullopt, ""},
};

}  // namespace

const std::vector<Architecture>& architectures() {
    static const std::vector<Architecture> table = {
        {"bitnet", "llama.cpp's converter (TQ1_0, TQ2_0), tern gen-model", kBitnetLayer, kStacks,
         false, Activation::relu2,
         "BitNet b1.58 2B4T's squared ReLU (the 2024 bitnet_b1_58 models, which use SiLU, are "
         "recognised by name)",
         RopeStyle::neox, "bitnet", "", kBitnetFamilies},
        {"bitnet-25", "bitnet.cpp (BitNet b1.58 2B4T, I2_S)", kBitnetLayer, kStacks, true,
         Activation::relu2, "BitNet b1.58 2B4T defines squared ReLU", RopeStyle::neox, "bitnet",
         kBitnetTemplate, kBitnetFamilies},
        {"llama",
         "bitnet.cpp (Llama3-8B-1.58, Falcon3 1.58-bit)",
         kLlamaLayer,
         kStacks,
         true,
         Activation::silu,
         "Llama's gated SiLU",
         RopeStyle::interleaved,
         "llama3",
         kLlama3Template,
         {{"Falcon3-1.58bit", {"falcon"}, 0, 0, 0, std::nullopt, "falcon3"},
          {"Llama3-8B-1.58", {}, 4096, 32, 14336, std::nullopt, ""},
          {"ternary Llama", {}, 0, 0, 0, std::nullopt, ""}}},
    };
    return table;
}

bool Architecture::has(LayerTensor t) const {
    for (LayerTensor x : layer_tensors)
        if (x == t) return true;
    return false;
}

const ModelFamily& Architecture::family(const std::string& general_name, int n_embd, int n_layer,
                                        int n_ff) const {
    std::string name = general_name;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const ModelFamily& f : families) {
        for (const char* word : f.name_contains)
            if (name.find(word) != std::string::npos) return f;
        if (f.n_embd > 0 && f.n_embd == n_embd && f.n_layer == n_layer && f.n_ff == n_ff) return f;
    }
    return families.back();
}

std::vector<std::string> architecture_names() {
    std::vector<std::string> out;
    for (const Architecture& a : architectures()) out.push_back(a.name);
    return out;
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
