// The metadata of a BitNet GGUF file as tern writes it (tern gen-model, tern
// convert): the architecture's keys under its prefix, llama.cpp's file type, and
// the byte-level BPE tokenizer under tokenizer.ggml.*.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tern/gguf.h"
#include "tern/gguf_writer.h"
#include "tern/synthetic_model.h"

namespace tern {

struct FileVocab {
    std::vector<std::string> tokens, merges;  // merges as "left right"
    std::vector<int32_t> types;               // 1 normal, 3 control, 4 user-defined, ...
    int bos = 0, eos = 0;
    int eot = -1;  // end of turn (tokenizer.ggml.eot_token_id), -1: none written
    bool add_bos = true;
    bool add_eos = false;           // written only when set
    std::string pre = "llama-bpe";  // tokenizer.ggml.pre
    std::string chat_template;      // empty: none written
};

// llama.cpp's general.file_type for files whose ternary weights have this type
// (LLAMA_FTYPE_MOSTLY_*; I2_S is bitnet.cpp's 40).
uint32_t llama_file_type(gguf::TensorType weight_type);

// general.architecture, general.name, general.file_type and the shape's keys
// under `arch.` (context, sizes, heads, RMS epsilon, RoPE base and dimensions).
void write_model_keys(gguf::Writer& w, const std::string& arch, const std::string& name,
                      const ModelShape& shape, gguf::TensorType weight_type);

void write_vocab(gguf::Writer& w, const FileVocab& vocab);

// The chat template the published files of an architecture carry: 2B4T's for
// bitnet-25, LLaMA-3 Instruct's for llama; empty for bitnet (llama.cpp's
// converter writes none).
std::string published_chat_template(const std::string& arch);

}  // namespace tern
