// See tern/architecture.h. Facts: llama.cpp's src/llama-arch.cpp and
// src/models/{bitnet,llama}.cpp, bitnet.cpp's fork (build_bitnet_158 runs the
// `bitnet-25` files), and the published 2B4T file (see the README, "Models").
#include "tern/architecture.h"

#include <cctype>
#include <iterator>

#include "tern/error.h"

namespace tern {

namespace {

// In Activation's order.
const char* const kActivationNames[] = {"relu2", "silu", "gelu"};

}  // namespace

const char* activation_name(Activation a) { return kActivationNames[static_cast<int>(a)]; }

std::vector<std::string> activation_names() {
    return {std::begin(kActivationNames), std::end(kActivationNames)};
}

Activation parse_activation(const std::string& name) {
    for (int i = 0; i < 3; ++i)
        if (name == kActivationNames[i]) return static_cast<Activation>(i);
    throw Error("activation '" + name + "' is not known (expected relu2, silu or gelu)");
}

const char* rope_style_name(RopeStyle r) { return r == RopeStyle::neox ? "neox" : "interleaved"; }

const char* layer_tensor_key(LayerTensor t) {
    // In LayerTensor's order.
    static const char* const keys[] = {"attn_norm",
                                       "attn_q",
                                       "attn_k",
                                       "attn_v",
                                       "attn_sub_norm",
                                       "attn_output",
                                       "ffn_norm",
                                       "ffn_gate",
                                       "ffn_up",
                                       "ffn_sub_norm",
                                       "ffn_down",
                                       "attn_q_norm",
                                       "attn_k_norm",
                                       "attn_q_norm_in",
                                       "attn_k_norm_in",
                                       "attn_v_norm_in",
                                       "attn_output_norm_in",
                                       "ffn_gate_norm_in",
                                       "ffn_up_norm_in",
                                       "ffn_down_norm_in",
                                       "post_attention_norm",
                                       "post_ffw_norm"};
    static_assert(sizeof keys / sizeof *keys == kLayerTensors, "one key per LayerTensor");
    return keys[static_cast<int>(t)];
}

std::optional<Width> norm_width(LayerTensor t) {
    switch (t) {
        case LayerTensor::attn_norm:
        case LayerTensor::attn_sub_norm:
        case LayerTensor::ffn_norm:
        case LayerTensor::attn_q_norm_in:
        case LayerTensor::attn_k_norm_in:
        case LayerTensor::attn_v_norm_in:
        case LayerTensor::ffn_gate_norm_in:
        case LayerTensor::ffn_up_norm_in:
        case LayerTensor::post_attention_norm:
        case LayerTensor::post_ffw_norm:
            return Width::embd;
        case LayerTensor::ffn_sub_norm:
        case LayerTensor::ffn_down_norm_in:
            return Width::ff;
        case LayerTensor::attn_output_norm_in:
            return Width::q;
        case LayerTensor::attn_q_norm:
        case LayerTensor::attn_k_norm:
            return Width::head;
        default:
            return std::nullopt;
    }
}

std::string tensor_name(int layer, LayerTensor t) {
    return "blk." + std::to_string(layer) + "." + layer_tensor_key(t) + ".weight";
}

namespace {

using T = LayerTensor;

// BitNet b1.58 and ternary Llama stack Q/K/V and gate/up: each group reads
// one normalised input. Llama has no sub-norms (unit weights).
std::vector<LinearStack> shared_input_stacks(bool sub_norms) {
    const auto sub = [&](LayerTensor t) {
        return sub_norms ? std::optional<LayerTensor>(t) : std::nullopt;
    };
    return {
        {Stage::attn_in,
         {T::attn_q, T::attn_k, T::attn_v},
         Width::embd,
         {Width::q, Width::kv, Width::kv},
         T::attn_norm},
        {Stage::attn_out, {T::attn_output}, Width::q, {Width::embd}, sub(T::attn_sub_norm)},
        {Stage::ffn_in, {T::ffn_gate, T::ffn_up}, Width::embd, {Width::ff, Width::ff}, T::ffn_norm},
        {Stage::ffn_out, {T::ffn_down}, Width::ff, {Width::embd}, sub(T::ffn_sub_norm)},
    };
}

// BitNet's per-projection norms give each matrix its own input: no stacking.
const std::vector<LinearStack> kPerProjectionStacks = {
    {Stage::attn_in, {T::attn_q}, Width::embd, {Width::q}, T::attn_q_norm_in},
    {Stage::attn_in, {T::attn_k}, Width::embd, {Width::kv}, T::attn_k_norm_in},
    {Stage::attn_in, {T::attn_v}, Width::embd, {Width::kv}, T::attn_v_norm_in},
    {Stage::attn_out, {T::attn_output}, Width::q, {Width::embd}, T::attn_output_norm_in},
    {Stage::ffn_in, {T::ffn_gate}, Width::embd, {Width::ff}, T::ffn_gate_norm_in},
    {Stage::ffn_in, {T::ffn_up}, Width::embd, {Width::ff}, T::ffn_up_norm_in},
    {Stage::ffn_out, {T::ffn_down}, Width::ff, {Width::embd}, T::ffn_down_norm_in},
};

const std::vector<LayerTensor> kBitnetLayer = {
    T::attn_norm, T::attn_q,   T::attn_k, T::attn_v,       T::attn_sub_norm, T::attn_output,
    T::ffn_norm,  T::ffn_gate, T::ffn_up, T::ffn_sub_norm, T::ffn_down};
const std::vector<LayerTensor> kLlamaLayer = {T::attn_norm, T::attn_q,      T::attn_k,
                                              T::attn_v,    T::attn_output, T::ffn_norm,
                                              T::ffn_gate,  T::ffn_up,      T::ffn_down};
// bitnet.cpp's embedding converters' order.
const std::vector<LayerTensor> kQwen3Layer = {T::attn_norm,        T::attn_q_norm_in,
                                              T::attn_q,           T::attn_k_norm_in,
                                              T::attn_k,           T::attn_v_norm_in,
                                              T::attn_v,           T::attn_q_norm,
                                              T::attn_k_norm,      T::attn_output_norm_in,
                                              T::attn_output,      T::ffn_norm,
                                              T::ffn_gate_norm_in, T::ffn_gate,
                                              T::ffn_up_norm_in,   T::ffn_up,
                                              T::ffn_down_norm_in, T::ffn_down};
const std::vector<LayerTensor> kGemma3Layer = {
    T::attn_norm,   T::attn_q_norm_in,      T::attn_q,      T::attn_k_norm_in,
    T::attn_k,      T::attn_v_norm_in,      T::attn_v,      T::attn_q_norm,
    T::attn_k_norm, T::attn_output_norm_in, T::attn_output, T::post_attention_norm,
    T::ffn_norm,    T::ffn_gate_norm_in,    T::ffn_gate,    T::ffn_up_norm_in,
    T::ffn_up,      T::ffn_down_norm_in,    T::ffn_down,    T::post_ffw_norm};

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
    const std::optional<LayerTensor> none;
    static const std::vector<Architecture> table = {
        {"bitnet",
         "llama.cpp's converter (TQ1_0, TQ2_0), tern gen-model",
         kBitnetLayer,
         shared_input_stacks(true),
         false,
         Activation::relu2,
         "BitNet b1.58 2B4T's squared ReLU (the 2024 bitnet_b1_58 models, which use SiLU, are "
         "recognised by name)",
         RopeStyle::neox,
         none,
         none,
         none,
         none,
         none,
         none,
         false,
         0,
         0.0f,
         "bitnet",
         "",
         kBitnetFamilies},
        {"bitnet-25",
         "bitnet.cpp (BitNet b1.58 2B4T, I2_S)",
         kBitnetLayer,
         shared_input_stacks(true),
         true,
         Activation::relu2,
         "BitNet b1.58 2B4T defines squared ReLU",
         RopeStyle::neox,
         none,
         none,
         none,
         none,
         none,
         none,
         false,
         0,
         0.0f,
         "bitnet",
         kBitnetTemplate,
         kBitnetFamilies},
        {"llama",
         "bitnet.cpp (Llama3-8B-1.58, Falcon3 1.58-bit)",
         kLlamaLayer,
         shared_input_stacks(false),
         true,
         Activation::silu,
         "Llama's gated SiLU",
         RopeStyle::interleaved,
         none,
         none,
         none,
         none,
         none,
         none,
         false,
         0,
         0.0f,
         "llama3",
         kLlama3Template,
         {{"Falcon3-1.58bit", {"falcon"}, 0, 0, 0, std::nullopt, "falcon3"},
          {"Llama3-8B-1.58", {}, 4096, 32, 14336, std::nullopt, ""},
          {"ternary Llama", {}, 0, 0, 0, std::nullopt, ""}}},
        // llama.cpp runs Qwen3 and Gemma3 with NEOX RoPE.
        {"qwen3",
         "bitnet.cpp's embedding converter (BitNet-embedding-0.6B, I2_S)",
         kQwen3Layer,
         kPerProjectionStacks,
         false,
         Activation::silu,
         "Qwen3's gated SiLU",
         RopeStyle::neox,
         T::attn_norm,
         T::ffn_norm,
         T::attn_q_norm,
         T::attn_k_norm,
         none,
         none,
         false,
         0,
         0.0f,
         "",
         "",
         {{"BitNet-embedding-0.6B", {}, 1024, 28, 3072, std::nullopt, ""},
          {"ternary Qwen3", {}, 0, 0, 0, std::nullopt, ""}}},
        // Gemma3: every sixth layer global, the local ones with RoPE base 10000
        // (Gemma 3's published configuration, as llama.cpp runs it).
        {"gemma3",
         "bitnet.cpp's embedding converter (BitNet-embedding-270M, I2_S)",
         kGemma3Layer,
         kPerProjectionStacks,
         false,
         Activation::gelu,
         "Gemma's gelu_pytorch_tanh",
         RopeStyle::neox,
         T::attn_norm,
         T::ffn_norm,
         T::attn_q_norm,
         T::attn_k_norm,
         T::post_attention_norm,
         T::post_ffw_norm,
         true,
         6,
         10000.0f,
         "",
         "",
         {{"BitNet-embedding-270M", {}, 640, 18, 2048, std::nullopt, ""},
          {"ternary Gemma3", {}, 0, 0, 0, std::nullopt, ""}}},
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
