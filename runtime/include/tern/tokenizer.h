// The tokenizers of the models tern runs, read from a GGUF file's metadata:
// byte-level BPE (tokenizer.ggml.model "gpt2") with LLaMA-3's ("llama-bpe") or
// Qwen2's ("qwen2") pre-tokenizer, and SentencePiece-style BPE with byte
// fallback (Gemma: "llama" with scores, or "gpt2" with SentencePiece tokens and
// merges as bitnet.cpp's embedding converter writes them).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "tern/gguf.h"

namespace tern {

// GPT-2's reversible map from each byte to a printable code point, as UTF-8:
// the alphabet byte-level BPE vocabularies are written in.
const std::vector<std::string>& byte_level_chars();

class Tokenizer {
public:
    // Reads tokenizer.ggml.{model, pre, tokens, token_type, merges or scores,
    // bos_token_id, eos_token_id, add_bos_token, add_eos_token, add_space_prefix};
    // errors name the file and the key.
    static Tokenizer from_gguf(const gguf::File& file);

    // Text to token ids; BOS first when add_bos (and the vocabulary has one).
    // With parse_special, the names of control tokens in the text
    // ("<|eot_id|>") become those tokens, as chat templates need; otherwise they
    // are encoded as the characters they are made of (user text must not be
    // able to forge a turn). User-defined tokens always match.
    std::vector<int> encode(const std::string& text, bool add_bos,
                            bool parse_special = false) const;
    // The id of a token by its text, or -1.
    int find(const std::string& token) const;
    // The bytes a token stands for (control tokens: none).
    std::string decode(int id) const;
    std::string decode(const std::vector<int>& ids) const;

    int n_vocab() const { return static_cast<int>(tokens_.size()); }
    int bos() const { return bos_; }  // -1: none
    int eos() const { return eos_; }
    bool add_bos() const { return add_bos_; }
    // Whether texts end with EOS (tokenizer.ggml.add_eos_token: embedding
    // models pool the last token, the appended EOS).
    bool add_eos() const { return add_eos_; }
    // End of generation: EOS, or <|eot_id|> / <|end_of_text|> where present.
    bool is_end_of_generation(int id) const;

    // The pre-tokenizer alone: the pieces BPE runs on (exposed for tests);
    // digits group by up to max_digits (3: LLaMA-3, 1: Qwen2).
    static std::vector<std::string> pre_tokenize(const std::string& text, size_t max_digits = 3);

private:
    std::vector<std::string> tokens_;
    std::vector<int> types_;
    std::unordered_map<std::string, int> ids_;
    std::unordered_map<std::string, int> merge_rank_;  // "left right" -> rank
    std::vector<std::string> decoded_;                 // bytes of each token
    std::vector<int> end_ids_;
    std::vector<int> specials_;      // control tokens, longest text first
    std::vector<int> user_defined_;  // user-defined tokens, longest text first
    std::vector<float> scores_;      // SentencePiece merge priority (files without merges)
    int byte_ids_[256] = {};         // "<0x..>" tokens (SentencePiece), -1 where absent
    bool sentencepiece_ = false, add_space_prefix_ = false;
    int bos_ = -1, eos_ = -1, unk_ = -1;
    bool add_bos_ = true, add_eos_ = false;
    size_t max_digits_ = 3;
    bool ignore_merges_ = true;

    // Merges symbols by priority and appends their token ids.
    void bpe(std::vector<std::string> symbols, std::vector<int>& out) const;
    void encode_plain(const std::string& text, bool at_start, std::vector<int>& out) const;
};

}  // namespace tern
