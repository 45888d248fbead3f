// A Hugging Face model directory as tern convert reads it: config.json, the
// weights (model.safetensors, or the shards model.safetensors.index.json lists),
// tokenizer.json, tokenizer_config.json and generation_config.json. Every file is
// validated when opened; errors name the file and the key or tensor.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "convert/safetensors.h"
#include "tern/model_file.h"

namespace tern::convert {

class HfCheckpoint {
public:
    static HfCheckpoint open(const std::string& dir);

    const std::string& dir() const { return dir_; }
    const nlohmann::json& config() const { return config_; }
    // The tensor of that name, or throws naming it and the files searched.
    const SafeTensor& tensor(const std::string& name) const;
    const SafeTensor* find(const std::string& name) const;
    void release(const SafeTensor& t) const;  // see SafetensorsFile::release
    const std::vector<SafetensorsFile>& files() const { return files_; }

    // config.json values: required ones throw naming the key when missing or of
    // the wrong type; optional ones give the fallback.
    int config_int(const std::string& key) const;
    int config_int(const std::string& key, int fallback) const;
    double config_number(const std::string& key, double fallback) const;
    std::string config_string(const std::string& key, const std::string& fallback) const;

    // tokenizer.json (a byte-level BPE model with LLaMA-3's pre-tokenizer) and
    // tokenizer_config.json as GGUF's tokenizer.ggml.*: tokens by id (padded to
    // n_vocab with unused tokens, as llama.cpp's converter does), merges, types,
    // BOS/EOS, the chat template.
    FileVocab vocab(int n_vocab) const;

private:
    std::string dir_;
    nlohmann::json config_, tokenizer_, tokenizer_config_, generation_config_;
    std::vector<SafetensorsFile> files_;
    std::map<std::string, std::pair<size_t, const SafeTensor*>> tensors_;  // file index, tensor
};

// Reads a JSON file; throws naming it if it is missing (unless optional: then null)
// or does not parse.
nlohmann::json read_json(const std::string& path, bool optional = false);

}  // namespace tern::convert
