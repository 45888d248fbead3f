// See hf_checkpoint.h.
#include "convert/hf_checkpoint.h"

#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "tern/error.h"

namespace tern::convert {
namespace {

using nlohmann::json;

// LLaMA-3's pre-tokenizer regex as its tokenizer.json spells it (Split, Isolated).
const char* const kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

bool exists(const std::string& path) { return std::ifstream(path).good(); }

// Every Split regex in a pre_tokenizer (a Sequence or a single one).
void split_regexes(const json& p, std::vector<std::string>& out) {
    if (!p.is_object()) return;
    if (p.value("type", "") == "Sequence" && p.contains("pretokenizers"))
        for (const json& q : p["pretokenizers"]) split_regexes(q, out);
    if (p.value("type", "") == "Split" && p.contains("pattern") && p["pattern"].is_object() &&
        p["pattern"].contains("Regex") && p["pattern"]["Regex"].is_string())
        out.push_back(p["pattern"]["Regex"].get<std::string>());
}

}  // namespace

json read_json(const std::string& path, bool optional) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (optional) return nullptr;
        throw Error(path + ": cannot open (a Hugging Face model directory has it)");
    }
    std::stringstream text;
    text << in.rdbuf();
    try {
        return json::parse(text.str());
    } catch (const json::exception& e) {
        throw Error(path + ": does not parse as JSON: " + e.what());
    }
}

HfCheckpoint HfCheckpoint::open(const std::string& dir) {
    HfCheckpoint c;
    c.dir_ = dir;
    c.config_ = read_json(dir + "/config.json");
    if (!c.config_.is_object()) throw Error(dir + "/config.json: expected a JSON object");
    c.tokenizer_ = read_json(dir + "/tokenizer.json");
    c.tokenizer_config_ = read_json(dir + "/tokenizer_config.json", true);
    c.generation_config_ = read_json(dir + "/generation_config.json", true);

    // The weight files: the shards an index names, or the single file.
    std::vector<std::string> names;
    const std::string index_path = dir + "/model.safetensors.index.json";
    if (exists(index_path)) {
        const json index = read_json(index_path);
        if (!index.contains("weight_map") || !index["weight_map"].is_object())
            throw Error(index_path + ": expected a weight_map object (tensor name -> shard file)");
        std::set<std::string> shards;
        for (const auto& [tensor, file] : index["weight_map"].items()) {
            if (!file.is_string())
                throw Error(index_path + ": weight_map['" + tensor + "'] is not a file name");
            const std::string f = file.get<std::string>();
            if (f.find('/') != std::string::npos)
                throw Error(index_path + ": weight_map['" + tensor + "'] = '" + f +
                            "' is not a file of the directory");
            shards.insert(f);
        }
        names.assign(shards.begin(), shards.end());
        for (const std::string& f : names) c.files_.push_back(SafetensorsFile::open(dir + "/" + f));
        for (const auto& [tensor, file] : index["weight_map"].items()) {
            const size_t i =
                std::find(names.begin(), names.end(), file.get<std::string>()) - names.begin();
            auto it = c.files_[i].tensors().find(tensor);
            if (it == c.files_[i].tensors().end())
                throw Error(index_path + ": names tensor '" + tensor + "' in " + names[i] +
                            ", which does not hold it");
            c.tensors_[tensor] = {i, &it->second};
        }
    } else if (exists(dir + "/model.safetensors")) {
        c.files_.push_back(SafetensorsFile::open(dir + "/model.safetensors"));
        for (const auto& [name, t] : c.files_[0].tensors()) c.tensors_[name] = {0, &t};
    } else {
        throw Error(dir +
                    ": no model.safetensors or model.safetensors.index.json (tern convert "
                    "reads safetensors weights; convert PyTorch .bin files first)");
    }
    return c;
}

const SafeTensor* HfCheckpoint::find(const std::string& name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : it->second.second;
}

const SafeTensor& HfCheckpoint::tensor(const std::string& name) const {
    if (const SafeTensor* t = find(name)) return *t;
    throw Error(dir_ + ": the weights have no tensor '" + name + "'");
}

void HfCheckpoint::release(const SafeTensor& t) const {
    auto it = tensors_.find(t.name);
    if (it != tensors_.end()) files_[it->second.first].release(t);
}

int HfCheckpoint::config_int(const std::string& key) const {
    if (!config_.contains(key) || !config_[key].is_number_integer())
        throw Error(dir_ + "/config.json: key '" + key + "' is missing or not an integer");
    return config_[key].get<int>();
}

int HfCheckpoint::config_int(const std::string& key, int fallback) const {
    if (!config_.contains(key) || config_[key].is_null()) return fallback;
    return config_int(key);
}

double HfCheckpoint::config_number(const std::string& key, double fallback) const {
    if (!config_.contains(key) || config_[key].is_null()) return fallback;
    if (!config_[key].is_number())
        throw Error(dir_ + "/config.json: key '" + key + "' is not a number");
    return config_[key].get<double>();
}

std::string HfCheckpoint::config_string(const std::string& key, const std::string& fallback) const {
    if (!config_.contains(key) || config_[key].is_null()) return fallback;
    if (!config_[key].is_string())
        throw Error(dir_ + "/config.json: key '" + key + "' is not a string");
    return config_[key].get<std::string>();
}

FileVocab HfCheckpoint::vocab(int n_vocab) const {
    const std::string path = dir_ + "/tokenizer.json";
    auto fail = [&](const std::string& what) { return Error(path + ": " + what); };
    if (!tokenizer_.is_object() || !tokenizer_.contains("model") ||
        !tokenizer_["model"].is_object())
        throw fail("expected an object with a 'model'");
    const json& model = tokenizer_["model"];
    if (model.value("type", "") != "BPE")
        throw fail("model.type is '" + model.value("type", std::string("?")) +
                   "', expected 'BPE' (tern converts byte-level BPE vocabularies)");
    if (!model.contains("vocab") || !model["vocab"].is_object())
        throw fail("model.vocab is not an object (token -> id)");

    FileVocab v;
    std::vector<std::string> regexes;
    split_regexes(tokenizer_["pre_tokenizer"], regexes);
    if (regexes.size() != 1 || regexes[0] != kLlama3Regex)
        throw fail(
            "the pre-tokenizer is not LLaMA-3's (the only one tern's tokenizer runs): " +
            (regexes.empty() ? std::string("no Split regex") : "Split regex '" + regexes[0] + "'"));
    v.pre = "llama-bpe";

    std::unordered_map<std::string, int> ids;
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    auto put = [&](const std::string& token, int64_t id, int32_t type) {
        if (id < 0 || id >= (1 << 24))
            throw fail("token '" + token + "' has id " + std::to_string(id));
        if (static_cast<size_t>(id) >= tokens.size()) {
            tokens.resize(id + 1);
            types.resize(id + 1, 0);
        }
        if (types[id] != 0 && tokens[id] != token)
            throw fail("id " + std::to_string(id) + " names both '" + tokens[id] + "' and '" +
                       token + "'");
        tokens[id] = token;
        types[id] = type;
        ids[token] = static_cast<int>(id);
    };
    for (const auto& [token, id] : model["vocab"].items()) {
        if (!id.is_number_integer()) throw fail("model.vocab['" + token + "'] is not an id");
        put(token, id.get<int64_t>(), 1);
    }
    if (tokenizer_.contains("added_tokens") && tokenizer_["added_tokens"].is_array())
        for (const json& a : tokenizer_["added_tokens"]) {
            if (!a.is_object() || !a.contains("id") || !a.contains("content"))
                throw fail("an added_tokens entry lacks id or content");
            put(a["content"].get<std::string>(), a["id"].get<int64_t>(),
                a.value("special", false) ? 3 : 4);
        }
    if (static_cast<int>(tokens.size()) > n_vocab)
        throw fail("holds " + std::to_string(tokens.size()) +
                   " tokens, more than config.json's vocab_size " + std::to_string(n_vocab));
    for (int i = 0; i < n_vocab; ++i) {
        if (i >= static_cast<int>(tokens.size())) {
            tokens.push_back("");
            types.push_back(0);
        }
        if (types[i] == 0) {  // unused ids up to the embedding's rows
            tokens[i] = "[PAD" + std::to_string(i) + "]";
            types[i] = 5;
        }
    }
    v.tokens = std::move(tokens);
    v.types = std::move(types);

    if (model.contains("merges") && model["merges"].is_array())
        for (const json& m : model["merges"]) {
            if (m.is_string())
                v.merges.push_back(m.get<std::string>());
            else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
                v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
            else
                throw fail("model.merges holds " + m.dump() +
                           ", expected \"left right\" or [left, right]");
        }

    // BOS and EOS: tokenizer_config.json's tokens, else config.json's ids.
    auto special = [&](const char* key, const char* id_key) {
        if (tokenizer_config_.is_object() && tokenizer_config_.contains(key)) {
            const json& t = tokenizer_config_[key];
            const std::string name = t.is_string()   ? t.get<std::string>()
                                     : t.is_object() ? t.value("content", std::string())
                                                     : std::string();
            if (!name.empty()) {
                auto it = ids.find(name);
                if (it == ids.end())
                    throw Error(dir_ + "/tokenizer_config.json: " + key + " '" + name +
                                "' is not a token of tokenizer.json");
                return it->second;
            }
        }
        const json& id = config_.contains(id_key) ? config_[id_key] : json();
        if (id.is_number_integer()) return id.get<int>();
        if (id.is_array() && !id.empty() && id[0].is_number_integer()) return id[0].get<int>();
        throw Error(dir_ + ": neither tokenizer_config.json's " + key + " nor config.json's " +
                    id_key + " names a token");
    };
    v.bos = special("bos_token", "bos_token_id");
    v.eos = special("eos_token", "eos_token_id");
    for (int id : {v.bos, v.eos})
        if (id < 0 || id >= n_vocab)
            throw Error(dir_ + ": BOS/EOS id " + std::to_string(id) + " is outside the vocabulary");
    // generation_config.json's further end tokens (LLaMA-3's <|eot_id|>) mark the
    // end of a chat turn.
    if (generation_config_.is_object() && generation_config_.contains("eos_token_id") &&
        generation_config_["eos_token_id"].is_array())
        for (const json& id : generation_config_["eos_token_id"])
            if (id.is_number_integer() && id.get<int>() != v.eos && id.get<int>() >= 0 &&
                id.get<int>() < n_vocab && v.eot < 0)
                v.eot = id.get<int>();
    if (tokenizer_config_.is_object()) {
        if (tokenizer_config_.contains("add_bos_token") &&
            tokenizer_config_["add_bos_token"].is_boolean())
            v.add_bos = tokenizer_config_["add_bos_token"].get<bool>();
        if (tokenizer_config_.contains("chat_template") &&
            tokenizer_config_["chat_template"].is_string())
            v.chat_template = tokenizer_config_["chat_template"].get<std::string>();
    }
    return v;
}

}  // namespace tern::convert
