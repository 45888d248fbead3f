// A ternary model loaded from GGUF and run on a backend's kernels and threads.
//
// The architectures of tern/architecture.h (see README, "Models"): token
// embedding; per layer RMSNorm, Q/K/V, RoPE, grouped-query attention over a KV
// cache, attn_sub_norm (BitNet), output projection, residual; RMSNorm, gate and
// up, activation, ffn_sub_norm (BitNet), down projection, residual; output norm;
// LM head (output.weight, or tied to the embedding). Activations are quantised per token to int8
// (absmax) before every ternary matmul, as BitNet b1.58 defines.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tern/architecture.h"
#include "tern/backend.h"
#include "tern/gguf.h"
#include "tern/kernels.h"
#include "tern/read_bandwidth.h"

namespace tern {

// The file's own activation key (tern.ffn_activation), if it has one.
std::optional<Activation> file_activation(const gguf::File& file);

// The LM head (output.weight, or the embedding when the file ties them): at the
// file's precision (its rows decoded each token), int8 rows with per-row scales,
// or 4-bit rows with a half-precision scale per 64 values (ref::quantize_row_int4),
// both made at load time.
enum class LmHead { file, int8, int4 };
const char* lm_head_name(LmHead h);
LmHead parse_lm_head(const std::string& name);  // "file", "int8" or "int4"

// The KV cache's element type: F16 (half the bytes attention reads per token,
// keys and values rounded to half precision) or F32.
enum class CacheType { f32, f16 };
const char* cache_type_name(CacheType t);
CacheType parse_cache_type(const std::string& name);  // "f32" or "f16"

// How an embedding model pools its final hidden states into one vector per
// text (llama.cpp's pooling types, `<arch>.pooling_type`): none (a generative
// model), the mean of every position, the first position (CLS) or the last.
enum class Pooling { none = 0, mean = 1, cls = 2, last = 3 };
const char* pooling_name(Pooling p);
Pooling parse_pooling(
    const std::string& name);  // "none", "mean", "cls" or "last"; throws otherwise

struct ModelConfig {
    const Architecture* arch = nullptr;
    std::string family;       // as users name the model: "BitNet b1.58 2B4T", "Llama3-8B-1.58", ...
    std::string chat_format;  // the family's default prompt format (when the file has no template)
    int n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_vocab = 0;
    int n_ctx_train = 0, head_dim = 0, n_rot = 0;
    float rope_theta = 10000.0f, rms_eps = 1e-5f;
    // Query heads' width: n_head x head_dim (the embedding, unless the file's
    // attention.key_length sets another head size).
    int q_width() const { return n_head * head_dim; }
    int kv_width() const { return n_head_kv * head_dim; }
    float attn_scale = 0;  // scores are q.k times this: 1/sqrt(head_dim), or the file's
    // Sliding-window attention (Gemma3): layers for which is_local() attend to the
    // last n_swa positions only, with RoPE base rope_theta_swa; 0: none.
    int n_swa = 0;
    float rope_theta_swa = 10000.0f;
    bool is_local(int layer) const {
        return n_swa > 0 && arch->swa_period > 0 && (layer + 1) % arch->swa_period != 0;
    }
    float layer_rope_theta(int layer) const {
        return is_local(layer) ? rope_theta_swa : rope_theta;
    }
    Pooling pooling = Pooling::none;  // an embedding model's; none for generative ones
    bool embedding_model() const { return pooling != Pooling::none; }
    Activation activation = Activation::relu2;
    std::string activation_source;  // where the activation came from
    // The LM head's tensor: "output.weight" (untied) or "token_embd.weight" (tied).
    std::string head_tensor = "token_embd.weight";
    bool tied_head() const { return head_tensor == "token_embd.weight"; }
    // A key of the architecture: "bitnet-25.block_count" for "block_count".
    std::string key(const std::string& name) const;
};

// The settings of a GGUF file of a supported architecture, validated (keys,
// shapes and types of the embedding and head) without reading any weights.
// Throws tern::Error naming the file and key. `activation` overrides the file.
ModelConfig model_config(const gguf::File& file,
                         std::optional<Activation> activation = std::nullopt);
ModelConfig read_model_config(const std::string& path);

// The sizes a model's Widths stand for.
struct ModelWidths {
    int embd = 0, ff = 0, q = 0, kv = 0, head = 0;
    ModelWidths() = default;
    ModelWidths(int embd_, int ff_, int q_, int kv_, int head_)
        : embd(embd_), ff(ff_), q(q_), kv(kv_), head(head_) {}
    explicit ModelWidths(const ModelConfig& c)
        : ModelWidths(c.n_embd, c.n_ff, c.q_width(), c.kv_width(), c.head_dim) {}
    int operator()(Width w) const {
        switch (w) {
            case Width::embd:
                return embd;
            case Width::ff:
                return ff;
            case Width::q:
                return q;
            case Width::kv:
                return kv;
            case Width::head:
                break;
        }
        return head;
    }
};

// The ternary matrices a model of `arch` runs, as {K inputs, N outputs},
// stacked as its table row says.
std::vector<std::pair<int, int>> linear_shapes(const Architecture& arch, const ModelWidths& widths);

struct ModelOptions {
    // The backend Model::load makes when it is given none: this bundle ("":
    // default_bundle()) on this many threads (0: every core).
    std::string bundle;
    int threads = 0;
    int n_ctx = 2048;  // KV cache positions per sequence (at most the file's context length)
    int n_seq = 1;     // sequences with their own KV cache (serving slots)
    std::optional<Activation> activation;  // overrides the file
    LmHead lm_head = LmHead::int8;
    // F16 by default: half the cache's memory and of the bytes attention reads;
    // attention widens halves with F16C / AVX-512F conversions (2B4T, one
    // thread, Zen 5: 0.89 against 1.22 ms per generated token in attention).
    CacheType cache_type = CacheType::f16;
    // Rows (tokens of all sequences in a batch) evaluated at once: a longer
    // batch runs in chunks of this many, in order, which bounds the activations'
    // memory (about 140 KB per row for 2B4T) whatever the prompt's length;
    // results are the same.
    int ubatch = 128;
    // Stored form of the ternary weights: as the bundle was tuned, or forced.
    WeightFormat weights = WeightFormat::tuned;
    // Called as layers are repacked: (done, total).
    std::function<void(int, int)> progress;
};

class Model {
public:
    // Loads, validates (architecture, metadata, every tensor's presence, type and
    // shape; errors name the file and the key or tensor) and repacks the
    // ternary weights into the layouts the backend's kernels read. A model
    // whose KV cache (n_seq x n_ctx), weights and head would need more than the
    // machine's physical memory is refused first, the estimate in the message.
    // Without a backend, one is made from options.bundle and options.threads;
    // with one, those two are ignored. The count in force is
    // backend().threads() (models sharing a backend share it); options().threads
    // is the count at load or at this model's last set_threads.
    static std::unique_ptr<Model> load(const std::string& path, const ModelOptions& options);
    static std::unique_ptr<Model> load(const std::string& path, const ModelOptions& options,
                                       std::shared_ptr<Backend> backend);
    ~Model();

    const ModelConfig& config() const;
    const gguf::File& file() const;
    const Backend& backend() const;
    const ModelOptions& options() const;
    double load_seconds() const;
    uint64_t packed_bytes() const;  // repacked weights, LM head included
    // Weight bytes one generated token reads: the packed ternary matrices and
    // the LM head (int8 rows and scales, or the file's embedding).
    uint64_t bytes_per_token() const;
    // Where those bytes are (the int8 head's per-row scales left out: 0.5 MB):
    // a plain read of these regions bounds how fast a token can be.
    std::vector<Region> weight_regions() const;

    // Runs tokens of sequence 0 at positions position() .. position() + n - 1,
    // appending to its KV cache. Returns the logits of the last token, or of
    // every token (n x n_vocab, row-major) when all_logits is set. Throws if the
    // cache is full, a token id is out of range, or the model is an embedding
    // model (no LM head).
    std::vector<float> eval(const std::vector<int>& tokens, bool all_logits = false);

    // One sequence's part of a batch: new tokens appended to its own cache.
    struct Batch {
        int seq = 0;  // 0 .. options().n_seq - 1
        std::vector<int> tokens;
        bool all_logits = false;
    };
    // Runs the new tokens of several sequences as one batch: the ternary
    // matmuls and the LM head read their weights once for all rows; attention
    // reads each sequence's own cache. Returns each entry's logits as eval()
    // does. A sequence may appear once per batch.
    std::vector<std::vector<float>> eval_batch(const std::vector<Batch>& batch);

    // Embedding models: one vector of n_embd floats per text (token ids), the
    // final hidden states after the output norm pooled as the file says (or as
    // asked) and L2-normalised unless told not to. The texts run as one batch,
    // text i in sequence slot i from position 0 (at most options().n_seq
    // texts); the slots are left empty. Throws for an empty text, more texts
    // than slots, too many tokens, or no pooling.
    struct EmbedOptions {
        std::optional<Pooling> pooling;  // unset: the file's
        bool normalize = true;
    };
    std::vector<std::vector<float>> embed(const std::vector<std::vector<int>>& texts,
                                          const EmbedOptions& options);
    int position(int seq = 0) const;
    void reset(int seq = 0);  // empties a sequence's KV cache
    // Keeps the first n positions of a sequence's KV cache and forgets the rest
    // (0 <= n <= position(seq)): the next tokens are evaluated from position n,
    // attending to the kept ones. Throws tern::Error outside that range.
    void truncate(int seq, int n);
    int context() const;              // positions per sequence
    uint64_t kv_cache_bytes() const;  // reserved for all sequences

    // Runs on `threads` threads from now on (0: every core), with the kernels
    // tuned nearest that count where they read the weights as packed at load.
    // Sets the backend's count: models sharing it share the count.
    void set_threads(int threads);

    // The kernels chosen for each ternary weight shape (tern info).
    struct LinearChoice {
        std::string tensor;  // e.g. "blk.*.ffn_gate.weight + ffn_up.weight" (stacked)
        int k = 0, n = 0;
        const KernelInfo* gemv = nullptr;
        const KernelInfo* gemm = nullptr;
        std::vector<const KernelInfo*> batch;  // tuned for serving batches (LinearPlan)
        Layout layout;                         // how the weights are stored
        size_t bytes = 0;                      // one layer's packed matrix, with padding
    };
    std::vector<LinearChoice> linear_choices() const;

    // The parts of eval that timings() reports: the ternary matmuls (one entry
    // per kernel used), RMSNorm with the int8 quantisation of activations,
    // attention, the LM head, and the rest (embedding, RoPE, residuals,
    // activation).
    enum class Part { ternary, norm_quantize, attention, lm_head, other };
    // Wall time spent in each part of eval since the last clear_timings(), in
    // the order first seen.
    struct Timing {
        Part part = Part::other;
        const KernelInfo* kernel = nullptr;  // Part::ternary: the kernel
        double seconds = 0;
        // "ternary tmad_gemv", "norm+quantise", "attention", "lm head", "other".
        std::string name() const;
    };
    std::vector<Timing> timings() const;
    void clear_timings();

private:
    friend struct KernelOverrides;  // tern-tune's in-model hooks (model/kernel_overrides.h)
    struct Impl;
    explicit Model(std::unique_ptr<Impl> impl);
    static void check_memory(const Impl& impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern
