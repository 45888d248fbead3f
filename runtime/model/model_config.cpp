// Reading a model's settings from its GGUF metadata: which architecture (the
// table in architecture.cpp), its family, shapes, activation and LM head, all
// validated before any weight is read.
#include <algorithm>
#include <cmath>

#include "tern/error.h"
#include "tern/model.h"

namespace tern {
namespace {

using gguf::TensorInfo;

}  // namespace

std::optional<Activation> file_activation(const gguf::File& file) {
    if (!file.has("tern.ffn_activation")) return std::nullopt;
    return parse_activation(file.get_string("tern.ffn_activation"));
}

const char* pooling_name(Pooling p) {
    static const char* const names[] = {"none", "mean", "cls", "last"};
    return names[static_cast<int>(p)];
}

Pooling parse_pooling(const std::string& name) {
    for (Pooling p : {Pooling::none, Pooling::mean, Pooling::cls, Pooling::last})
        if (name == pooling_name(p)) return p;
    throw Error("pooling '" + name + "' is not known (expected none, mean, cls or last)");
}

std::string ModelConfig::key(const std::string& name) const {
    return std::string(arch->name) + "." + name;
}

ModelConfig model_config(const gguf::File& file, std::optional<Activation> activation) {
    ModelConfig cfg;
    auto fail = [&](const std::string& what) -> void { throw Error(file.path() + ": " + what); };
    cfg.arch = &find_architecture(file.get_string("general.architecture"), file.path());
    auto u = [&](const std::string& name) {
        const uint64_t v = file.get_uint(cfg.key(name));
        if (v == 0 || v > (1u << 24))
            fail("key '" + cfg.key(name) + "' is " + std::to_string(v) + ", out of range");
        return static_cast<int>(v);
    };
    cfg.n_embd = u("embedding_length");
    cfg.n_layer = u("block_count");
    cfg.n_head = u("attention.head_count");
    cfg.n_head_kv = u("attention.head_count_kv");
    cfg.n_ff = u("feed_forward_length");
    cfg.n_ctx_train = u("context_length");
    cfg.rms_eps = file.get_float(cfg.key("attention.layer_norm_rms_epsilon"));
    cfg.rope_theta =
        file.has(cfg.key("rope.freq_base")) ? file.get_float(cfg.key("rope.freq_base")) : 10000.0f;
    if (cfg.n_head % cfg.n_head_kv != 0)
        fail(cfg.key("attention.head_count") + " " + std::to_string(cfg.n_head) +
             " is not a multiple of " + cfg.key("attention.head_count_kv") + " " +
             std::to_string(cfg.n_head_kv));
    // The head size: the file's key_length (Qwen3 and Gemma3 heads are wider than
    // hidden / heads), else hidden / heads.
    if (file.has(cfg.key("attention.key_length"))) {
        cfg.head_dim = u("attention.key_length");
        if (file.has(cfg.key("attention.value_length")) &&
            u("attention.value_length") != cfg.head_dim)
            fail(cfg.key("attention.value_length") + " " +
                 std::to_string(u("attention.value_length")) + " differs from " +
                 cfg.key("attention.key_length") + " " + std::to_string(cfg.head_dim) +
                 "; tern needs keys and values of one size");
    } else {
        if (cfg.n_embd % cfg.n_head != 0)
            fail(cfg.key("embedding_length") + " " + std::to_string(cfg.n_embd) +
                 " is not a multiple of " + cfg.key("attention.head_count") + " " +
                 std::to_string(cfg.n_head) + " (and the file has no " +
                 cfg.key("attention.key_length") + ")");
        cfg.head_dim = cfg.n_embd / cfg.n_head;
    }
    if (cfg.head_dim % 2 != 0)
        fail("the head size " + std::to_string(cfg.head_dim) +
             " must be even (RoPE rotates pairs)");
    cfg.attn_scale = file.has(cfg.key("attention.scale"))
                         ? file.get_float(cfg.key("attention.scale"))
                         : 1.0f / std::sqrt(static_cast<float>(cfg.head_dim));
    if (!(cfg.attn_scale > 0) || !std::isfinite(cfg.attn_scale))
        fail("key '" + cfg.key("attention.scale") + "' must be a positive number");
    if (cfg.arch->swa_period > 0 && file.has(cfg.key("attention.sliding_window"))) {
        cfg.n_swa = static_cast<int>(
            std::min<uint64_t>(file.get_uint(cfg.key("attention.sliding_window")), 1u << 24));
        cfg.rope_theta_swa = file.has(cfg.key("rope.freq_base_swa"))
                                 ? file.get_float(cfg.key("rope.freq_base_swa"))
                                 : cfg.arch->swa_rope_base;
    }
    if (file.has(cfg.key("pooling_type"))) {
        const uint64_t p = file.get_uint(cfg.key("pooling_type"));
        if (p > 3)
            fail("key '" + cfg.key("pooling_type") + "' is " + std::to_string(p) +
                 "; tern pools by mean (1), first token (2) or last token (3), or not at all (0)");
        cfg.pooling = static_cast<Pooling>(p);
    }
    cfg.n_rot =
        file.has(cfg.key("rope.dimension_count")) ? u("rope.dimension_count") : cfg.head_dim;
    if (cfg.n_rot > cfg.head_dim || cfg.n_rot % 2 != 0)
        fail(cfg.key("rope.dimension_count") + " " + std::to_string(cfg.n_rot) +
             " must be even and at most the head size " + std::to_string(cfg.head_dim));
    if (file.has(cfg.key("rope.scaling.type"))) {
        const std::string type = file.get_string(cfg.key("rope.scaling.type"));
        const float factor = file.has(cfg.key("rope.scaling.factor"))
                                 ? file.get_float(cfg.key("rope.scaling.factor"))
                                 : 1.0f;
        if (type != "none" && factor != 1.0f)
            fail("key '" + cfg.key("rope.scaling.type") + "' asks for " + type +
                 " RoPE scaling (factor " + std::to_string(factor) +
                 "), which tern does not implement");
    }
    if (file.find_tensor("rope_freqs.weight"))
        fail("tensor 'rope_freqs.weight' (Llama 3.1 RoPE frequency factors) is not supported");

    auto float_matrix = [&](const TensorInfo& t, const char* role) {
        if (t.dims.size() != 2 || t.dims[0] != uint64_t(cfg.n_embd))
            fail("tensor '" + t.name + "' has shape " + gguf::dims_text(t.dims) + ", expected [" +
                 std::to_string(cfg.n_embd) + ", n_vocab] (" + role + ")");
        if (!gguf::is_float(t.type))
            fail("tensor '" + t.name + "' is " + gguf::tensor_type_name(t.type) + ", expected " +
                 gguf::type_names([](const gguf::TypeTraits& r) { return !r.ternary; }) + " (" +
                 role + ")");
    };
    const TensorInfo& embd = file.tensor(kTokenEmbdTensor);
    float_matrix(embd, "the token embedding");
    cfg.n_vocab = static_cast<int>(embd.dims[1]);
    if (file.has(cfg.key("vocab_size")) &&
        file.get_uint(cfg.key("vocab_size")) != uint64_t(cfg.n_vocab))
        fail(cfg.key("vocab_size") + " is " + std::to_string(file.get_uint(cfg.key("vocab_size"))) +
             " but token_embd.weight has " + std::to_string(cfg.n_vocab) + " rows");
    if (const TensorInfo* out = file.find_tensor(kOutputTensor)) {
        float_matrix(*out, "the LM head");
        if (out->dims[1] != embd.dims[1])
            fail("tensor 'output.weight' has " + std::to_string(out->dims[1]) +
                 " rows but token_embd.weight has " + std::to_string(embd.dims[1]) +
                 " (one per token of the vocabulary)");
        cfg.head_tensor = kOutputTensor;
    }

    // Sizes that allocations follow must agree with the tensors before anything
    // is allocated from them (a 50 KB file must not make tern reserve
    // gigabytes): the last layer exists, and the FFN width is the down
    // projection's.
    file.tensor(tensor_name(cfg.n_layer - 1, LayerTensor::attn_norm));
    const TensorInfo& down = file.tensor(tensor_name(0, LayerTensor::ffn_down));
    if (down.dims.size() != 2 || down.dims[0] != uint64_t(cfg.n_ff))
        fail("tensor 'blk.0.ffn_down.weight' has shape " + gguf::dims_text(down.dims) +
             ", expected [" + std::to_string(cfg.n_ff) + ", " + std::to_string(cfg.n_embd) + "] (" +
             cfg.key("feed_forward_length") + ")");

    const std::string general_name =
        file.has("general.name") ? file.get_string("general.name") : "";
    const ModelFamily& family = cfg.arch->family(general_name, cfg.n_embd, cfg.n_layer, cfg.n_ff);
    cfg.family = family.name;
    // gen-model's files name themselves so.
    if (general_name.rfind("tern synthetic", 0) == 0)
        cfg.family += " shape (random weights, tern gen-model)";
    cfg.chat_format = *family.chat_format ? family.chat_format : cfg.arch->chat_format;
    if (activation) {
        cfg.activation = *activation;
        cfg.activation_source = "set by the caller";
    } else if (const auto a = file_activation(file)) {
        cfg.activation = *a;
        cfg.activation_source = "from the file (tern.ffn_activation)";
    } else if (family.activation) {
        cfg.activation = *family.activation;
        cfg.activation_source = std::string("the family's (") + family.name + ")";
    } else {
        cfg.activation = cfg.arch->activation;
        cfg.activation_source =
            std::string("the architecture's (") + cfg.arch->name + "): " + cfg.arch->activation_why;
    }
    return cfg;
}

ModelConfig read_model_config(const std::string& path) {
    return model_config(gguf::File::open(path));
}

}  // namespace tern
