// See hf_convert.h. Facts: transformers' integrations/bitnet.py (packed layout,
// weight_scale, absmean), llama.cpp's convert_hf_to_gguf.py (tensor names, the
// Q/K permutation for interleaved RoPE, vocabulary padding) and bitnet.cpp's
// GGUF files (../README, "Models").
#include "convert/hf_convert.h"

#include <cmath>
#include <set>
#include <vector>

#include "convert/hf_checkpoint.h"
#include "tern/architecture.h"
#include "tern/error.h"
#include "tern/gguf_tensors.h"
#include "tern/gguf_writer.h"
#include "tern/model_file.h"

namespace tern::convert {
namespace {

using gguf::TensorType;

// One row per Hugging Face class tern converts.
struct SourceClass {
    const char* hf_class;
    const char* arch;         // the GGUF architecture bitnet.cpp writes for it
    bool needs_quant_config;  // must say quant_method "bitnet" (else it is not ternary)
    bool permute_qk;          // HF's rotate-half Q/K rows reordered for interleaved RoPE
};
const SourceClass kClasses[] = {
    {"BitNetForCausalLM", "bitnet-25", false, false},
    {"LlamaForCausalLM", "llama", true, true},
};

// A layer's tensors: Hugging Face name (after "model.layers.N."), GGUF name
// (after "blk.N."), and what it is.
enum class Kind { norm, sub_norm, ternary };
enum class Rows { embd, kv, ff };  // a ternary matrix's output rows
struct LayerRow {
    const char* hf;
    LayerTensor gguf;
    Kind kind;
    Rows rows = Rows::embd;  // ternary: output rows
    Rows cols = Rows::embd;  // ternary: input columns; norms: length
    int permute_heads = 0;   // 1: query heads, 2: KV heads (when the class permutes)
};
const LayerRow kLayer[] = {
    {"input_layernorm.weight", LayerTensor::attn_norm, Kind::norm},
    {"self_attn.q_proj", LayerTensor::attn_q, Kind::ternary, Rows::embd, Rows::embd, 1},
    {"self_attn.k_proj", LayerTensor::attn_k, Kind::ternary, Rows::kv, Rows::embd, 2},
    {"self_attn.v_proj", LayerTensor::attn_v, Kind::ternary, Rows::kv, Rows::embd},
    {"self_attn.attn_sub_norm.weight", LayerTensor::attn_sub_norm, Kind::sub_norm},
    {"self_attn.o_proj", LayerTensor::attn_output, Kind::ternary, Rows::embd, Rows::embd},
    {"post_attention_layernorm.weight", LayerTensor::ffn_norm, Kind::norm},
    {"mlp.gate_proj", LayerTensor::ffn_gate, Kind::ternary, Rows::ff, Rows::embd},
    {"mlp.up_proj", LayerTensor::ffn_up, Kind::ternary, Rows::ff, Rows::embd},
    {"mlp.ffn_sub_norm.weight", LayerTensor::ffn_sub_norm, Kind::sub_norm, Rows::embd, Rows::ff},
    {"mlp.down_proj", LayerTensor::ffn_down, Kind::ternary, Rows::embd, Rows::ff},
};

const SourceClass& find_class(const HfCheckpoint& c) {
    const auto& a = c.config()["architectures"];
    const std::string name =
        a.is_array() && !a.empty() && a[0].is_string() ? a[0].get<std::string>() : "";
    for (const SourceClass& s : kClasses)
        if (name == s.hf_class) return s;
    throw Error(
        c.dir() + "/config.json: architectures names '" + name +
        "', which tern convert does not convert (supported: " + convertible_architectures() + ")");
}

// A ternary matrix of the checkpoint, read one output row at a time as codes in
// {-1, 0, 1} with one scale for the whole matrix.
class TernarySource {
public:
    TernarySource(const HfCheckpoint& c, const std::string& name, int rows, int cols,
                  bool bitlinear_divides, int permute_heads)
        : c_(c), name_(name + ".weight"), rows_(rows), cols_(cols), permute_(permute_heads) {
        w_ = &c.tensor(name_);
        const std::string where = c.dir() + ": tensor '" + name_ + "' ";
        if (w_->dtype == Dtype::u8) {
            // transformers' packed layout: [ceil(rows / 4), cols], four rows per byte.
            packed_rows_ = (rows + 3) / 4;
            if (w_->shape.size() != 2 || w_->shape[0] != uint64_t(packed_rows_) ||
                w_->shape[1] != uint64_t(cols))
                throw Error(where + "is packed U8 " + w_->shape_text() + ", expected [" +
                            std::to_string(packed_rows_) + ", " + std::to_string(cols) +
                            "] (four 2-bit codes per byte, by rows)");
            const SafeTensor& s = c.tensor(name + ".weight_scale");
            if (s.elements() != 1)
                throw Error(c.dir() + ": tensor '" + s.name + "' holds " +
                            std::to_string(s.elements()) +
                            " values; tern converts one scale per matrix");
            float ws = 0;
            read_floats(s, 0, 1, &ws);
            if (!(ws > 0) || !std::isfinite(ws))
                throw Error(c.dir() + ": tensor '" + s.name + "' is " + std::to_string(ws) +
                            ", expected a positive scale");
            // BitLinear divides its output by weight_scale; AutoBitLinear multiplies.
            scale_ = bitlinear_divides ? 1.0f / ws : ws;
            how_ = "packed 2-bit";
        } else {
            if (w_->shape.size() != 2 || w_->shape[0] != uint64_t(rows) ||
                w_->shape[1] != uint64_t(cols))
                throw Error(where + "is " + w_->shape_text() + ", expected [" +
                            std::to_string(rows) + ", " + std::to_string(cols) + "]");
            how_ = "master weights (absmean)";
        }
    }

    // Master weights: BitNet's absmean over the whole matrix, s = 1 / max(mean|w|,
    // 1e-5). A pass of its own, run when the tensor is written.
    void prepare() {
        if (packed_rows_ > 0) return;
        std::vector<float> row(cols_);
        double sum = 0;
        for (int r = 0; r < rows_; ++r) {
            read_floats(*w_, uint64_t(r) * cols_, cols_, row.data());
            for (float v : row) sum += std::fabs(v);
        }
        const double mean = std::max(sum / (double(rows_) * cols_), 1e-5);
        inv_scale_ = static_cast<float>(1.0 / mean);
        scale_ = static_cast<float>(mean);
    }

    float scale() const { return scale_; }
    const std::string& how() const { return how_; }
    const SafeTensor& tensor() const { return *w_; }

    void row(int out_row, int8_t* out) const {
        const int r = source_row(out_row);
        if (packed_rows_ > 0) {
            const uint8_t* p = w_->data + uint64_t(r % packed_rows_) * cols_;
            const int shift = 2 * (r / packed_rows_);
            for (int k = 0; k < cols_; ++k) {
                const int code = (p[k] >> shift) & 3;
                if (code == 3)
                    throw Error(c_.dir() + ": tensor '" + name_ + "' row " + std::to_string(r) +
                                " column " + std::to_string(k) +
                                " holds the 2-bit code 3, which is not ternary (codes are w + 1 "
                                "for w in -1, 0, 1)");
                out[k] = static_cast<int8_t>(code - 1);
            }
        } else {
            std::vector<float> v(cols_);
            read_floats(*w_, uint64_t(r) * cols_, cols_, v.data());
            for (int k = 0; k < cols_; ++k) {
                if (!std::isfinite(v[k]))
                    throw Error(c_.dir() + ": tensor '" + name_ + "' row " + std::to_string(r) +
                                " column " + std::to_string(k) + " is " + std::to_string(v[k]));
                // Round half to even, as torch.round.
                const float q = std::nearbyint(v[k] * inv_scale_);
                out[k] = static_cast<int8_t>(std::max(-1.0f, std::min(1.0f, q)));
            }
        }
    }

private:
    // llama.cpp's permute for interleaved RoPE: within each head, output row
    // 2i + j comes from row j * head_dim / 2 + i.
    int source_row(int r) const {
        if (permute_ == 0) return r;
        const int hd = rows_ / permute_;
        const int head = r / hd, i = (r % hd) / 2, j = r % 2;
        return head * hd + j * (hd / 2) + i;
    }

    const HfCheckpoint& c_;
    std::string name_;
    const SafeTensor* w_ = nullptr;
    int rows_, cols_;
    int permute_;  // heads in this matrix, 0: no permutation
    int packed_rows_ = 0;
    float scale_ = 1, inv_scale_ = 1;
    std::string how_;
};

}  // namespace

std::string convertible_architectures() {
    std::string s;
    for (const SourceClass& c : kClasses) s += (s.empty() ? "" : ", ") + std::string(c.hf_class);
    return s;
}

ConvertSummary convert_checkpoint(const std::string& dir, const std::string& out,
                                  const ConvertOptions& o,
                                  const std::function<void(uint64_t, uint64_t)>& progress) {
    if (!gguf::is_ternary(o.weight_type))
        throw Error(std::string("tern convert: --type ") + gguf::tensor_type_name(o.weight_type) +
                    " is not a ternary type (i2_s, tq2_0, tq1_0)");
    for (TensorType t : {o.embedding_type, o.head_type})
        if (!gguf::is_float(t))
            throw Error(std::string("tern convert: ") + gguf::tensor_type_name(t) +
                        " is not a float type for the embedding or head");
    const HfCheckpoint c = HfCheckpoint::open(dir);
    const SourceClass& cls = find_class(c);
    const Architecture& arch = find_architecture(cls.arch, dir);
    const std::string cfg = dir + "/config.json: ";

    // The ternary quantisation the config declares.
    const nlohmann::json& q = c.config().contains("quantization_config")
                                  ? c.config()["quantization_config"]
                                  : nlohmann::json();
    if (!q.is_null() && q.value("quant_method", "") != "bitnet")
        throw Error(cfg + "quantization_config.quant_method is '" +
                    q.value("quant_method", std::string("?")) +
                    "', expected 'bitnet' (a ternary checkpoint)");
    if (cls.needs_quant_config && q.is_null())
        throw Error(cfg + "has no quantization_config: a " + std::string(cls.hf_class) +
                    " without BitNet quantisation is not a ternary model");
    const std::string linear_class =
        q.is_null() ? "bitlinear" : q.value("linear_class", "bitlinear");
    if (linear_class != "bitlinear" && linear_class != "autobitlinear")
        throw Error(cfg + "quantization_config.linear_class is '" + linear_class +
                    "', expected 'bitlinear' or 'autobitlinear'");

    ModelShape shape;
    shape.n_embd = c.config_int("hidden_size");
    shape.n_layer = c.config_int("num_hidden_layers");
    shape.n_head = c.config_int("num_attention_heads");
    shape.n_head_kv = c.config_int("num_key_value_heads", shape.n_head);
    shape.n_ff = c.config_int("intermediate_size");
    shape.n_vocab = c.config_int("vocab_size");
    shape.n_ctx = c.config_int("max_position_embeddings", 4096);
    shape.rms_eps = static_cast<float>(c.config_number("rms_norm_eps", 1e-5));
    shape.rope_theta = static_cast<float>(c.config_number("rope_theta", 10000.0));
    if (shape.n_embd <= 0 || shape.n_layer <= 0 || shape.n_head <= 0 || shape.n_head_kv <= 0 ||
        shape.n_ff <= 0 || shape.n_vocab <= 0 || shape.n_embd % shape.n_head != 0 ||
        shape.n_head % shape.n_head_kv != 0)
        throw Error(cfg + "sizes do not describe a model (hidden_size " +
                    std::to_string(shape.n_embd) + ", heads " + std::to_string(shape.n_head) +
                    ", KV heads " + std::to_string(shape.n_head_kv) + ")");
    if (c.config_int("head_dim", shape.head_dim()) != shape.head_dim())
        throw Error(cfg + "head_dim " + std::to_string(c.config_int("head_dim")) +
                    " differs from hidden_size / num_attention_heads; tern does not run that");
    if (c.config().contains("rope_scaling") && !c.config()["rope_scaling"].is_null())
        throw Error(cfg + "rope_scaling is set; tern runs plain RoPE only");
    const std::string act_name = c.config_string("hidden_act", activation_name(arch.activation));
    if (act_name != "relu2" && act_name != "silu")
        throw Error(cfg + "hidden_act is '" + act_name + "', expected relu2 or silu");
    const int E = shape.n_embd, F = shape.n_ff, KV = shape.n_head_kv * shape.head_dim(),
              V = shape.n_vocab;
    auto size_of = [&](Rows r) { return r == Rows::embd ? E : r == Rows::kv ? KV : F; };
    for (const auto& [n, what] : {std::pair{E, "hidden_size"}, std::pair{F, "intermediate_size"}})
        if (n % gguf::block_values(o.weight_type) != 0)
            throw Error(cfg + what + " " + std::to_string(n) + " is not a multiple of " +
                        std::to_string(gguf::block_values(o.weight_type)) + ", the " +
                        gguf::tensor_type_name(o.weight_type) + " block; try another --type");
    for (TensorType t : {o.embedding_type, o.head_type})
        if (E % gguf::block_values(t) != 0)
            throw Error(cfg + "hidden_size " + std::to_string(E) + " is not a multiple of the " +
                        gguf::tensor_type_name(t) + " block (" +
                        std::to_string(gguf::block_values(t)) + ")");

    ConvertSummary sum;
    sum.arch = arch.name;
    sum.source_class = cls.hf_class;
    sum.n_layer = shape.n_layer;
    sum.n_embd = E;
    sum.n_vocab = V;

    std::string name = o.name;
    if (name.empty()) {
        std::string d = dir;
        while (d.size() > 1 && d.back() == '/') d.pop_back();
        name = d.substr(d.find_last_of('/') == std::string::npos ? 0 : d.find_last_of('/') + 1);
    }
    gguf::Writer w;
    write_model_keys(w, arch.name, name, shape, o.weight_type);
    if (act_name != activation_name(arch.activation)) w.set_string("tern.ffn_activation", act_name);
    FileVocab vocab = c.vocab(V);
    if (vocab.chat_template.empty()) vocab.chat_template = published_chat_template(arch.name);
    write_vocab(w, vocab);

    std::set<std::string> used;
    // A [rows, E] float matrix (embedding, head) as GGUF [E, rows] of `type`.
    auto vocab_matrix = [&](const std::string& gguf_name, const SafeTensor& t, TensorType type) {
        if (t.shape.size() != 2 || t.shape[0] != uint64_t(V) || t.shape[1] != uint64_t(E))
            throw Error(dir + ": tensor '" + t.name + "' is " + t.shape_text() + ", expected [" +
                        std::to_string(V) + ", " + std::to_string(E) + "]");
        used.insert(t.name);
        const SafeTensor* tp = &t;
        w.add_tensor(gguf_name, {uint64_t(E), uint64_t(V)}, type,
                     [tp, type, E, V, &c](uint8_t* dst) {
                         const uint64_t row_bytes = gguf::tensor_bytes(type, {uint64_t(E)});
                         std::vector<float> row(E);
                         for (int r = 0; r < V; ++r) {
                             read_floats(*tp, uint64_t(r) * E, E, row.data());
                             gguf::encode_values(type, row.data(), E, dst + r * row_bytes);
                         }
                         c.release(*tp);
                     });
    };
    auto norm = [&](const std::string& gguf_name, const std::string& hf_name, int n) {
        const SafeTensor& t = c.tensor(hf_name);
        if (t.elements() != uint64_t(n))
            throw Error(dir + ": tensor '" + hf_name + "' is " + t.shape_text() + ", expected [" +
                        std::to_string(n) + "]");
        used.insert(hf_name);
        const SafeTensor* tp = &t;
        w.add_tensor(gguf_name, {uint64_t(n)}, TensorType::f32, [tp, n](uint8_t* dst) {
            read_floats(*tp, 0, n, reinterpret_cast<float*>(dst));
        });
    };
    auto ternary = [&](const std::string& gguf_name, const std::string& hf_name, int rows, int cols,
                       int permute_heads) {
        auto src =
            std::make_shared<TernarySource>(c, hf_name, rows, cols, linear_class == "bitlinear",
                                            cls.permute_qk ? permute_heads : 0);
        used.insert(hf_name + ".weight");
        used.insert(hf_name + ".weight_scale");
        sum.weights = src->how();
        sum.ternary_weights += uint64_t(rows) * cols;
        const TensorType type = o.weight_type;
        w.add_tensor(gguf_name, {uint64_t(cols), uint64_t(rows)}, type,
                     [src, type, rows, cols, &c](uint8_t* dst) {
                         src->prepare();
                         const uint64_t row_bytes = gguf::ternary_row_bytes(type, cols);
                         std::vector<int8_t> row(cols);
                         for (int r = 0; r < rows; ++r) {
                             src->row(r, row.data());
                             gguf::encode_ternary_row(type, row.data(), cols, src->scale(),
                                                      dst + r * row_bytes);
                         }
                         if (type == TensorType::i2_s)
                             gguf::encode_i2s_scale(src->scale(), dst + rows * row_bytes);
                         c.release(src->tensor());
                     });
    };

    const SafeTensor& embd = c.tensor("model.embed_tokens.weight");
    vocab_matrix(kTokenEmbdTensor, embd, o.embedding_type);
    norm(kOutputNormTensor, "model.norm.weight", E);
    for (int l = 0; l < shape.n_layer; ++l) {
        const std::string hf = "model.layers." + std::to_string(l) + ".";
        for (const LayerRow& t : kLayer) {
            if (!arch.has(t.gguf)) continue;
            if (t.kind == Kind::ternary)
                ternary(tensor_name(l, t.gguf), hf + t.hf, size_of(t.rows), size_of(t.cols),
                        t.permute_heads == 1   ? shape.n_head
                        : t.permute_heads == 2 ? shape.n_head_kv
                                               : 0);
            else
                norm(tensor_name(l, t.gguf), hf + t.hf, size_of(t.cols));
        }
    }
    // bitnet.cpp's files carry the head as its own tensor, tied or not.
    const SafeTensor* head = c.find("lm_head.weight");
    const bool tied = c.config().value("tie_word_embeddings", head == nullptr);
    if (!head && !tied)
        throw Error(dir + ": tie_word_embeddings is false but the weights have no lm_head.weight");
    vocab_matrix(kOutputTensor, head && !tied ? *head : embd, o.head_type);
    if (head && tied) used.insert("lm_head.weight");

    for (const auto& file : c.files())
        for (const auto& [tname, t] : file.tensors())
            if (!used.count(tname) && tname.find("rotary_emb.inv_freq") == std::string::npos)
                throw Error(dir + ": tensor '" + tname + "' (" + t.shape_text() +
                            ") is not part of a " + cls.hf_class +
                            " tern converts (biases and extra modules are not supported)");
    w.write(out, [&](uint64_t done, uint64_t total) {
        sum.bytes = total;
        if (progress) progress(done, total);
    });
    return sum;
}

}  // namespace tern::convert
