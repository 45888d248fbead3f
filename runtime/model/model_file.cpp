// See tern/model_file.h.
#include "tern/model_file.h"

#include "tern/architecture.h"

namespace tern {

uint32_t llama_file_type(gguf::TensorType t) { return gguf::traits(t).file_type; }

void write_model_keys(gguf::Writer& w, const std::string& arch, const std::string& name,
                      const ModelShape& shape, gguf::TensorType weight_type) {
    w.set_string("general.architecture", arch);
    w.set_string("general.name", name);
    w.set_u32("general.file_type", llama_file_type(weight_type));
    w.set_u32(arch + ".vocab_size", shape.n_vocab);
    w.set_u32(arch + ".context_length", shape.n_ctx);
    w.set_u32(arch + ".embedding_length", shape.n_embd);
    w.set_u32(arch + ".block_count", shape.n_layer);
    w.set_u32(arch + ".feed_forward_length", shape.n_ff);
    w.set_u32(arch + ".attention.head_count", shape.n_head);
    w.set_u32(arch + ".attention.head_count_kv", shape.n_head_kv);
    w.set_f32(arch + ".attention.layer_norm_rms_epsilon", shape.rms_eps);
    w.set_f32(arch + ".rope.freq_base", shape.rope_theta);
    w.set_u32(arch + ".rope.dimension_count", shape.head_dim());
    if (shape.n_head_dim > 0) {  // heads not hidden / heads wide (Qwen3, Gemma3)
        w.set_u32(arch + ".attention.key_length", shape.n_head_dim);
        w.set_u32(arch + ".attention.value_length", shape.n_head_dim);
    }
    if (shape.n_swa > 0) w.set_u32(arch + ".attention.sliding_window", shape.n_swa);
}

void write_vocab(gguf::Writer& w, const FileVocab& v) {
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", v.pre);
    w.set_strings("tokenizer.ggml.tokens", v.tokens);
    w.set_i32s("tokenizer.ggml.token_type", v.types);
    w.set_strings("tokenizer.ggml.merges", v.merges);
    w.set_u32("tokenizer.ggml.bos_token_id", v.bos);
    w.set_u32("tokenizer.ggml.eos_token_id", v.eos);
    if (v.eot >= 0) w.set_u32("tokenizer.ggml.eot_token_id", v.eot);
    w.set_bool("tokenizer.ggml.add_bos_token", v.add_bos);
    if (v.add_eos) w.set_bool("tokenizer.ggml.add_eos_token", true);
    if (!v.chat_template.empty()) w.set_string("tokenizer.chat_template", v.chat_template);
}

std::string published_chat_template(const std::string& arch) {
    return find_architecture(arch, "published_chat_template").chat_template;
}

}  // namespace tern
