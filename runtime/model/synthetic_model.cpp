// Synthetic BitNet models: the architecture and GGUF layout of llama.cpp's
// `bitnet` (see ../README "model"), random weights, a placeholder byte-level BPE
// vocabulary. Each tensor draws from its own generator seeded by (seed, tensor
// index), so the output is deterministic.
#include "tern/synthetic_model.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <vector>

#include "tern/architecture.h"
#include "tern/error.h"
#include "tern/gguf_tensors.h"
#include "tern/gguf_writer.h"
#include "tern/model_file.h"
#include "tern/tokenizer.h"

namespace tern {
namespace {

using gguf::TensorType;

class SplitMix {
public:
    explicit SplitMix(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    float uniform(float lo, float hi) {  // [lo, hi)
        return lo + (hi - lo) * static_cast<float>(next() >> 40) * (1.0f / 16777216.0f);
    }

private:
    uint64_t s_;
};

uint64_t tensor_seed(uint64_t seed, size_t index) {
    return SplitMix(seed * 0x100000001b3ull + index).next();
}

using Vocab = FileVocab;

// Byte tokens, then tokens made by merging earlier tokens with single bytes,
// then special tokens named and numbered as LLaMA-3's first ten (BOS, EOS, the
// chat headers, <|eot_id|>; all 256 when the vocabulary is that large), so
// that chat formats work on small models too.
Vocab placeholder_vocab(int n_vocab) {
    const int n_special = n_vocab >= 128256 ? 256 : 10;
    const int n_normal = n_vocab - n_special;
    if (n_normal < 256)
        throw Error("vocabulary of " + std::to_string(n_vocab) + " is too small (at least " +
                    std::to_string(256 + n_special) + ")");
    Vocab v;
    const std::vector<std::string>& bytes = byte_level_chars();
    v.tokens = bytes;
    for (int left = 0; static_cast<int>(v.tokens.size()) < n_normal; ++left)
        for (int b = 0; b < 256 && static_cast<int>(v.tokens.size()) < n_normal; ++b) {
            v.merges.push_back(v.tokens[left] + " " + bytes[b]);
            v.tokens.push_back(v.tokens[left] + bytes[b]);
        }
    v.types.assign(n_normal, 1);
    const char* named[10] = {"<|begin_of_text|>",
                             "<|end_of_text|>",
                             nullptr,
                             nullptr,
                             "<|finetune_right_pad_id|>",
                             nullptr,
                             "<|start_header_id|>",
                             "<|end_header_id|>",
                             "<|eom_id|>",
                             "<|eot_id|>"};
    for (int i = 0, reserved = 0; i < n_special; ++i) {
        v.tokens.push_back(i < 10 && named[i]
                               ? named[i]
                               : "<|reserved_special_token_" + std::to_string(reserved++) + "|>");
        v.types.push_back(3);
    }
    v.bos = n_normal;
    v.eos = n_normal + 1;
    return v;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open (make it with scripts/llama3_vocab.mjs)");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

Vocab file_vocab(const std::string& dir) {
    Vocab v;
    v.tokens = read_lines(dir + "/tokens.txt");
    v.merges = read_lines(dir + "/merges.txt");
    v.types.assign(v.tokens.size(), 1);
    for (const std::string& id : read_lines(dir + "/special.txt")) {
        const size_t i = std::stoul(id);
        if (i >= v.tokens.size())
            throw Error(dir + "/special.txt: token id " + id + " out of range");
        v.types[i] = 3;
    }
    auto find = [&](const std::string& name) {
        for (size_t i = 0; i < v.tokens.size(); ++i)
            if (v.tokens[i] == name) return static_cast<int>(i);
        throw Error(dir + "/tokens.txt: no token " + name);
    };
    v.bos = find("<|begin_of_text|>");
    v.eos = find("<|end_of_text|>");
    return v;
}

}  // namespace

ModelShape model_preset(const std::string& name) {
    ModelShape s;
    s.preset = name;
    if (name == "tiny") {
        s.n_embd = 256, s.n_layer = 4, s.n_head = 4, s.n_head_kv = 2, s.n_ff = 768,
        s.n_vocab = 1024;
    } else if (name == "2b4t") {
        s.n_embd = 2560, s.n_layer = 30, s.n_head = 20, s.n_head_kv = 5, s.n_ff = 6912;
        s.n_vocab = 128256;
    } else if (name == "embedding-0.6b") {
        s.n_embd = 1024, s.n_layer = 28, s.n_head = 16, s.n_head_kv = 8, s.n_head_dim = 128;
        s.n_ff = 3072, s.n_vocab = 151936, s.rope_theta = 1000000.0f, s.rms_eps = 1e-6f;
    } else if (name == "embedding-270m") {
        s.n_embd = 640, s.n_layer = 18, s.n_head = 4, s.n_head_kv = 1, s.n_head_dim = 256;
        s.n_ff = 2048, s.n_vocab = 262144, s.rope_theta = 1000000.0f, s.rms_eps = 1e-6f;
        s.n_swa = 512;
    } else {
        throw Error("unknown model preset '" + name +
                    "' (known: tiny, 2b4t, embedding-0.6b, embedding-270m)");
    }
    return s;
}

void write_synthetic_model(const std::string& path, const ModelShape& preset,
                           const SyntheticModelOptions& o,
                           const std::function<void(uint64_t, uint64_t)>& progress) {
    if (!gguf::is_ternary_storage(o.weight_type))
        throw Error(std::string("gen-model: weight type ") + gguf::tensor_type_name(o.weight_type) +
                    " cannot hold ternary weights (tq2_0, tq1_0, i2_s, f32, f16, bf16)");
    if (!gguf::is_float(o.embedding_type))
        throw Error(std::string("gen-model: the embedding type ") +
                    gguf::tensor_type_name(o.embedding_type) + " is not a float type");
    if (!o.activation.empty()) parse_activation(o.activation);
    const Architecture& arch_info = find_architecture(o.arch, "gen-model --arch");
    const std::string arch = arch_info.name;
    // The untied head's type, if the file gets one (a plain pair: GCC 12 warns
    // falsely about std::optional<enum> here).
    const bool has_head = !o.tied_head && (o.head_type.has_value() || arch_info.untied_head);
    const TensorType head_type = o.head_type.value_or(TensorType::f16);
    ModelShape shape = preset;
    const bool real_vocab = !o.vocab_dir.empty();
    Vocab vocab = real_vocab ? file_vocab(o.vocab_dir) : placeholder_vocab(shape.n_vocab);
    shape.n_vocab = static_cast<int>(vocab.tokens.size());
    const int E = shape.n_embd, F = shape.n_ff;
    auto check = [&](bool ok, const std::string& what) {
        if (!ok) throw Error("gen-model: " + what);
    };
    check(E > 0 && shape.n_layer > 0 && shape.n_head > 0 && shape.n_head_kv > 0 && F > 0,
          "every size must be positive");
    check(shape.n_head_dim > 0 || E % shape.n_head == 0,
          "--n-embd " + std::to_string(E) + " is not a multiple of --n-head " +
              std::to_string(shape.n_head) + " (give --head-dim)");
    check(shape.n_head % shape.n_head_kv == 0, "--n-head " + std::to_string(shape.n_head) +
                                                   " is not a multiple of --n-head-kv " +
                                                   std::to_string(shape.n_head_kv));
    check(shape.head_dim() % 2 == 0, "the head size " + std::to_string(shape.head_dim()) +
                                         " must be even (RoPE rotates pairs)");
    const int Q = shape.n_head * shape.head_dim();
    for (const auto& [n, name] :
         {std::pair{E, "--n-embd"}, std::pair{F, "--n-ff"}, std::pair{Q, "--n-head x --head-dim"}})
        for (TensorType t :
             {o.weight_type, o.embedding_type, has_head ? head_type : o.embedding_type})
            check(n % gguf::block_values(t) == 0,
                  std::string(name) + " " + std::to_string(n) + " is not a multiple of " +
                      std::to_string(gguf::block_values(t)) + ", the " + gguf::tensor_type_name(t) +
                      " block");
    const ModelWidths widths = shape.widths();
    const Pooling pooling =
        o.pooling.value_or(arch_info.attn_block_norm ? Pooling::last : Pooling::none);

    gguf::Writer w;
    write_model_keys(w, arch, "tern synthetic " + arch + " " + shape.preset + " (random weights)",
                     shape, o.weight_type);
    if (!o.activation.empty()) w.set_string("tern.ffn_activation", o.activation);
    if (pooling != Pooling::none) w.set_u32(arch + ".pooling_type", static_cast<uint32_t>(pooling));
    w.set_string("tern.vocabulary",
                 real_vocab ? "LLaMA-3 tokens and merges (from " + o.vocab_dir + ")"
                            : "placeholder: byte-level BPE tokens and merges made up by tern "
                              "gen-model, not LLaMA-3's (text tokenises validly but not as "
                              "LLaMA-3 would)");
    w.set_u32("tern.seed", static_cast<uint32_t>(o.seed));
    vocab.chat_template = published_chat_template(arch);
    // Qwen3's pre-tokenizer; embedding models end every text with EOS, the token
    // last-token pooling reads.
    if (arch == "qwen3") vocab.pre = "qwen2";
    vocab.add_eos = pooling != Pooling::none;
    write_vocab(w, vocab);

    size_t index = 0;
    auto ternary = [&](const std::string& name, int k, int n) {
        const uint64_t seed = tensor_seed(o.seed, index++);
        const TensorType type = o.weight_type;
        // Unit-variance outputs for unit-RMS inputs (2/3 of the weights are
        // non-zero), times a per-tensor factor in [0.75, 1.25) so that tensors
        // differ in scale as trained ones do. Rounded to a half so that every
        // weight type stores the same scale.
        const double spread = 0.75 + 0.5 * ((SplitMix(seed ^ 0x5ca1e).next() >> 11) * 0x1p-53);
        const float scale =
            gguf::f16_to_f32(gguf::f32_to_f16(float(spread / std::sqrt(k * 2.0 / 3.0))));
        w.add_tensor(name, {uint64_t(k), uint64_t(n)}, type, [=](uint8_t* dst) {
            SplitMix rng(seed);
            std::vector<int8_t> row(k);
            std::vector<float> values(gguf::is_ternary(type) ? 0 : k);
            const uint64_t row_bytes = gguf::ternary_row_bytes(type, k);
            for (int r = 0; r < n; ++r) {
                for (int i = 0; i < k; ++i)
                    row[i] = static_cast<int8_t>(static_cast<int>((rng.next() >> 32) % 3) - 1);
                if (gguf::is_ternary(type)) {
                    gguf::encode_ternary_row(type, row.data(), k, scale, dst + r * row_bytes);
                } else {  // ternary values in a float type, as converters write them
                    for (int i = 0; i < k; ++i) values[i] = row[i] * scale;
                    gguf::encode_values(type, values.data(), k, dst + r * row_bytes);
                }
            }
            if (type == TensorType::i2_s) gguf::encode_i2s_scale(scale, dst + n * row_bytes);
        });
    };
    auto norm = [&](const std::string& name, int n, uint64_t seed) {
        w.add_tensor(name, {uint64_t(n)}, TensorType::f32, [=](uint8_t* dst) {
            SplitMix rng(seed);
            for (int i = 0; i < n; ++i) {
                const float v = rng.uniform(0.5f, 1.5f);
                std::memcpy(dst + 4 * i, &v, 4);
            }
        });
    };
    // Embedding-like rows of small uniform values (the embedding and an untied head).
    auto vocab_matrix = [&](const std::string& name, TensorType type, uint64_t seed) {
        const int V = shape.n_vocab;
        const uint64_t row_bytes = gguf::tensor_bytes(type, {uint64_t(E)});
        w.add_tensor(name, {uint64_t(E), uint64_t(V)}, type, [=](uint8_t* dst) {
            SplitMix rng(seed);
            std::vector<float> row(E);
            for (int r = 0; r < V; ++r) {
                for (float& x : row) x = rng.uniform(-0.1f, 0.1f);
                gguf::encode_values(type, row.data(), E, dst + uint64_t(r) * row_bytes);
            }
        });
    };
    vocab_matrix(kTokenEmbdTensor, o.embedding_type, tensor_seed(o.seed, index++));
    norm(kOutputNormTensor, E, tensor_seed(o.seed, index++));
    // BitNet b1.58's eleven tensors per layer draw seeds in sequence; a norm the
    // architecture lacks still draws its seed, so that files of every
    // architecture with one seed hold the same ternary weights. The later
    // norms (per-head, per-projection, post) draw from seeds of their own.
    constexpr int kSequencedTensors = static_cast<int>(LayerTensor::ffn_down) + 1;
    for (int l = 0; l < shape.n_layer; ++l)
        for (int i = 0; i < kLayerTensors; ++i) {
            const LayerTensor t = static_cast<LayerTensor>(i);
            if (const auto n = norm_width(t)) {
                bool input_norm = false;
                for (const LinearStack& s : arch_info.stacks)
                    input_norm = input_norm || (s.norm == t && arch_info.attn_block_norm);
                if (i >= kSequencedTensors) {
                    if (arch_info.has(t) && (o.input_norms || !input_norm))
                        norm(tensor_name(l, t), widths(*n),
                             tensor_seed(o.seed ^ 0x6e6f726d, size_t(l) * kLayerTensors + i));
                } else if (arch_info.has(t)) {
                    norm(tensor_name(l, t), widths(*n), tensor_seed(o.seed, index++));
                } else {
                    ++index;
                }
                continue;
            }
            for (const LinearStack& s : arch_info.stacks)
                for (size_t j = 0; j < s.tensors.size(); ++j)
                    if (s.tensors[j] == t)
                        ternary(tensor_name(l, t), widths(s.k), widths(s.rows[j]));
        }
    if (has_head) vocab_matrix(kOutputTensor, head_type, tensor_seed(o.seed, index++));
    w.write(path, progress);
}

}  // namespace tern
