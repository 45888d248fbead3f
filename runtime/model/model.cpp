// The BitNet forward pass over the bundle's kernels. Read top to bottom: load
// (validate, repack), then eval (embedding, layers, head).
#include "tern/model.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "kernels/vector_loops.h"
#include "model/batch_rows.h"
#include "model/kernel_overrides.h"
#include "model/kv_cache.h"
#include "model/layer_weights.h"
#include "model/output_head.h"
#include "tern/error.h"
#include "tern/gguf_tensors.h"
#include "tern/reference.h"

namespace tern {
namespace {

using gguf::File;
using gguf::TensorInfo;
using gguf::TensorType;

}  // namespace

const char* lm_head_name(LmHead h) {
    return h == LmHead::file ? "file" : h == LmHead::int8 ? "int8" : "int4";
}

LmHead parse_lm_head(const std::string& name) {
    for (LmHead h : {LmHead::file, LmHead::int8, LmHead::int4})
        if (name == lm_head_name(h)) return h;
    throw Error("LM head '" + name + "' is not known (expected file, int8 or int4)");
}

const char* cache_type_name(CacheType t) { return t == CacheType::f16 ? "f16" : "f32"; }

CacheType parse_cache_type(const std::string& name) {
    if (name == "f16") return CacheType::f16;
    if (name == "f32") return CacheType::f32;
    throw Error("KV cache type '" + name + "' is not known (expected f16 or f32)");
}

struct Model::Impl {
    File file;
    ModelOptions options;
    std::shared_ptr<Backend> backend;         // its kernels and threads
    const KernelInfo* norm_kernel = nullptr;  // the bundle's rmsnorm_quant
    ModelConfig cfg;
    int n_ctx = 0;
    double load_seconds = 0;

    const TensorInfo* embedding = nullptr;
    const TensorInfo* head_weights = nullptr;  // output.weight, or the embedding when tied
    std::vector<float> output_norm;
    std::unique_ptr<LayerWeights> layers;
    std::unique_ptr<OutputHead> head;  // the LM head, as --lm-head chose

    std::unique_ptr<KvCache> kv;  // every layer's, one slot per sequence
    std::vector<int> seq_pos;     // tokens in each slot's cache

    // Time per part of eval (Model::timings); steady_clock reads are ~20 ns,
    // against milliseconds per token, so they are always on.
    std::vector<Model::Timing> timing;
    using Clock = std::chrono::steady_clock;
    Clock::time_point mark;
    void start_timer() { mark = Clock::now(); }
    void charge(Model::Part part, const KernelInfo* kernel = nullptr) {
        const Clock::time_point now = Clock::now();
        const double s = std::chrono::duration<double>(now - mark).count();
        mark = now;
        for (Model::Timing& t : timing)
            if (t.part == part && t.kernel == kernel) {
                t.seconds += s;
                return;
            }
        timing.push_back({part, kernel, s});
    }

    // Scratch, sized for the largest batch seen: the residual stream x, a
    // block's output xb, its normalised input h (per-projection norms), queries,
    // keys, values, attention out, stacked outputs (gate/up), up alone.
    std::vector<float> x, xb, h, q, kbuf, vbuf, att, stacked, up;
    std::vector<int8_t> qx;
    std::vector<float> sx;
    // RoPE angles per distinct base (global and local layers) of the rows.
    struct RopeAngles {
        float theta = 0;
        std::vector<float> cos, sin;
    };
    std::vector<RopeAngles> rope_tables;

    explicit Impl(File f) : file(std::move(f)) {}

    KvCache::Shape kv_shape(int n_seq) const {
        return {cfg.n_layer, n_seq, n_ctx, cfg.n_head_kv, cfg.head_dim};
    }

    void read_config() {
        cfg = model_config(file, options.activation);
        embedding = &file.tensor(kTokenEmbdTensor);
        head_weights = &file.tensor(cfg.head_tensor);
    }

    // An embedding model gets no LM head: its output is the pooled hidden state.
    void load_weights() {
        output_norm = TensorReader(file).vector(kOutputNormTensor, cfg.n_embd);
        layers =
            std::make_unique<LayerWeights>(file, cfg, *backend, options.weights, options.progress);
        if (!cfg.embedding_model())
            head = OutputHead::make(options.lm_head, *backend, file, *head_weights, cfg.n_vocab,
                                    cfg.n_embd);
    }

    void ensure_scratch(int m) {
        const int E = cfg.n_embd, F = cfg.n_ff, Q = cfg.q_width(), KV = cfg.kv_width();
        const size_t need = static_cast<size_t>(m);
        if (x.size() >= need * E) return;
        x.resize(need * E), xb.resize(need * E), q.resize(need * Q), att.resize(need * Q);
        if (cfg.arch->attn_block_norm || cfg.arch->ffn_block_norm) h.resize(need * E);
        kbuf.resize(need * KV), vbuf.resize(need * KV);
        stacked.resize(need * std::max(Q + 2 * KV, 2 * F));
        // up gets a buffer of its own only where it is not stacked with gate.
        for (const LinearStack& s : cfg.arch->stacks)
            if (s.stage == Stage::ffn_in &&
                s.tensors == std::vector<LayerTensor>{LayerTensor::ffn_up})
                up.resize(need * F);
        qx.resize(need * std::max({E, F, Q})), sx.resize(need);
    }

    // Where the rows of a matrix's output go.
    float* output_of(LayerTensor t) {
        switch (t) {
            case LayerTensor::attn_q:
                return q.data();
            case LayerTensor::attn_k:
                return kbuf.data();
            case LayerTensor::attn_v:
                return vbuf.data();
            case LayerTensor::ffn_gate:
                return stacked.data();
            case LayerTensor::ffn_up:
                return up.data();
            default:
                return xb.data();  // attn_output, ffn_down
        }
    }

    // The stacks of one stage of layer l over m rows of `in` (k wide): each
    // normalises and quantises the input with its own norm, runs, and its
    // parts land in their outputs. A stacked gate/up stays stacked (rows of
    // 2F) for the activation to read in place; returns that stack, if any.
    const Linear* run_stage(const Layer& L, Stage stage, const float* in, int m) {
        const Linear* stacked_gate_up = nullptr;
        for (size_t s = 0; s < cfg.arch->stacks.size(); ++s) {
            const LinearStack& row = cfg.arch->stacks[s];
            if (row.stage != stage) continue;
            const Linear& l = L.stacks[s];
            norm_quantize(in, l.input_norm, l.w.k, m);
            if (row.tensors.size() == 1) {
                run_linear(l, m, output_of(row.tensors[0]));
            } else if (stage == Stage::ffn_in) {
                run_linear(l, m, stacked.data());
                stacked_gate_up = &l;
            } else {
                run_linear(l, m, stacked.data());
                std::vector<float*> outs;
                for (LayerTensor t : row.tensors) outs.push_back(output_of(t));
                split(l, m, outs);
            }
        }
        return stacked_gate_up;
    }

    // The residual stream normalised by a block norm, when the architecture has
    // one (the stacks then normalise this again); else the stream itself.
    const float* block_input(const Layer& L, std::optional<LayerTensor> norm, int m) {
        if (!norm) return x.data();
        const int E = cfg.n_embd;
        backend->parallel_for(m, [&](int t) {
            rmsnorm(&x[static_cast<size_t>(t) * E], L.norm(*norm).data(), E,
                    &h[static_cast<size_t>(t) * E]);
        });
        return h.data();
    }

    // x += the block's output (xb), normalised first where the architecture
    // has a post-norm.
    void add_block_output(const Layer& L, std::optional<LayerTensor> post_norm, int m) {
        const int E = cfg.n_embd;
        backend->parallel_for(m, [&](int t) {
            float* row = &xb[static_cast<size_t>(t) * E];
            if (post_norm) rmsnorm(row, L.norm(*post_norm).data(), E, row);
            float* dst = &x[static_cast<size_t>(t) * E];
            for (int i = 0; i < E; ++i) dst[i] += row[i];
        });
    }

    // Per-head RMSNorm of m rows of `heads` heads, in place.
    void head_norm(const Layer& L, std::optional<LayerTensor> norm, float* v, int m, int heads) {
        if (!norm) return;
        const int hd = cfg.head_dim;
        backend->parallel_for(m, [&](int t) {
            for (int r = t * heads; r < (t + 1) * heads; ++r)
                rmsnorm(v + static_cast<size_t>(r) * hd, L.norm(*norm).data(), hd,
                        v + static_cast<size_t>(r) * hd);
        });
    }

    // Copies the m rows of a stacked output into one buffer per part, scaled.
    void split(const Linear& l, int m, const std::vector<float*>& outs) const {
        const int n_total = l.w.n;
        for (int t = 0; t < m; ++t) {
            const float* row = &stacked[static_cast<size_t>(t) * n_total];
            for (size_t i = 0; i < l.parts.size(); ++i) {
                const int n = l.parts[i].n;
                const float s = l.part_scale(i);
                float* out = outs[i] + static_cast<size_t>(t) * n;
                for (int j = 0; j < n; ++j) out[j] = row[j] * s;
                row += n;
            }
        }
    }

    void run_linear(const Linear& l, int m, float* y) {
        const KernelInfo& kernel = l.plan.for_rows(m);
        ternary_linear(kernel, l.w, qx.data(), sx.data(), m, y);
        charge(Model::Part::ternary, &kernel);
    }

    void norm_quantize(const float* in, const std::vector<float>& weight, int k, int m) {
        rmsnorm_quantize(*norm_kernel, in, weight.data(), k, m, cfg.rms_eps, qx.data(), sx.data());
        charge(Model::Part::norm_quantize);
    }

    // The rotation angles of the m rows being evaluated for each RoPE base the
    // layers use (global, and local layers'), the same in every layer of that
    // base and for queries and keys: computed once per eval.
    void rope_angles(const Rows& rows) {
        const int half = cfg.n_rot / 2, m = rows.m;
        rope_tables.clear();
        for (int l = 0; l < cfg.n_layer; ++l) {
            const float base = cfg.layer_rope_theta(l);
            bool seen = false;
            for (const RopeAngles& r : rope_tables) seen = seen || r.theta == base;
            if (seen) continue;
            RopeAngles r;
            r.theta = base;
            r.cos.resize(static_cast<size_t>(m) * half);
            r.sin.resize(r.cos.size());
            for (int t = 0; t < m; ++t) {
                const float p = static_cast<float>(rows.pos[t]);
                for (int i = 0; i < half; ++i) {
                    const float theta = p * std::pow(base, -2.0f * i / cfg.n_rot);
                    r.cos[static_cast<size_t>(t) * half + i] = std::cos(theta);
                    r.sin[static_cast<size_t>(t) * half + i] = std::sin(theta);
                }
            }
            rope_tables.push_back(std::move(r));
        }
    }

    // RoPE with layer l's base: pair i of a head is dimensions (i, i + n_rot / 2)
    // in NEOX style, (2i, 2i + 1) in the interleaved style; rotated by angle i
    // of the position.
    void rope(int l, float* v, int m, int heads, int row_stride) const {
        const int hd = cfg.head_dim, half = cfg.n_rot / 2;
        const bool neox = cfg.arch->rope == RopeStyle::neox;
        const int second = neox ? half : 1, step = neox ? 1 : 2;
        const float base = cfg.layer_rope_theta(l);
        const RopeAngles* angles = &rope_tables.front();
        for (const RopeAngles& r : rope_tables)
            if (r.theta == base) angles = &r;
        for (int t = 0; t < m; ++t)
            for (int h = 0; h < heads; ++h) {
                float* r = v + static_cast<size_t>(t) * row_stride + h * hd;
                const float* c = &angles->cos[static_cast<size_t>(t) * half];
                const float* s = &angles->sin[static_cast<size_t>(t) * half];
                for (int i = 0; i < half; ++i) {
                    float* p = r + i * step;
                    const float a = p[0], b = p[second];
                    p[0] = a * c[i] - b * s[i];
                    p[second] = a * s[i] + b * c[i];
                }
            }
    }

    // Causal grouped-query attention of m new rows, each over its own
    // sequence's cache of layer l.
    // A local layer's rows see the last n_swa positions only.
    void attention(int l, const Rows& rows) {
        const int hd = cfg.head_dim, KVH = cfg.n_head_kv, group = cfg.n_head / cfg.n_head_kv;
        const bool local = cfg.is_local(l);
        backend->parallel_for(rows.m * KVH, [&](int job) {
            const int t = job / KVH, kvh = job % KVH, n = rows.pos[t] + 1;
            const AttentionSpan span{local ? std::max(0, n - cfg.n_swa) : 0, n, cfg.attn_scale};
            thread_local std::vector<float> scratch;
            scratch.resize(static_cast<size_t>(group) * (n + kAttentionKeyBlock));
            const size_t first = static_cast<size_t>(t) * cfg.q_width() + kvh * group * hd;
            kv->attend(l, rows.slot[t], kvh, &q[first], group, span, scratch.data(), &att[first]);
        });
    }

    // Appends the m new rows' keys (transposed) and values to layer l's cache,
    // each in its sequence's slot.
    void cache_kv(int l, const Rows& rows) {
        kv->store(l, rows.m, rows.slot, rows.pos, kbuf.data(), vbuf.data());
    }

    // The sum of squares in the vector loops' eight partial sums (a double
    // running sum was a serial chain: 5-10% of a prompt in the embedding models,
    // with their four to six float norms per layer).
    void rmsnorm(const float* in, const float* weight, int k, float* out) const {
        const float ss = backend->vector_loops().dot(in, in, k);
        const float r = 1.0f / std::sqrt(ss / static_cast<float>(k) + cfg.rms_eps);
        for (int i = 0; i < k; ++i) out[i] = in[i] * r * weight[i];
    }

    // Logits of the given rows of x (rows.size() x n_vocab, row-major): the head
    // is read once for all of them (the batched int8 kernel; the file's F16 rows
    // in chunks that stay in cache while every row passes).
    void logits_of(const std::vector<int>& rows, float* out) {
        const int E = cfg.n_embd, R = static_cast<int>(rows.size());
        std::vector<float> xn(static_cast<size_t>(R) * E);
        for (int r = 0; r < R; ++r)
            rmsnorm(&x[static_cast<size_t>(rows[r]) * E], output_norm.data(), E,
                    &xn[static_cast<size_t>(r) * E]);
        head->logits(xn.data(), R, out);
    }

    // The layers of the rows: embedding in, the final hidden state left in x;
    // keys and values appended to each row's sequence in the cache.
    void forward(const Rows& rows) {
        const int E = cfg.n_embd, F = cfg.n_ff, Q = cfg.q_width(), KV = cfg.kv_width(), m = rows.m;
        const Architecture& arch = *cfg.arch;
        const int* tokens = rows.token;
        start_timer();
        ensure_scratch(m);
        const uint64_t row_bytes = embedding->bytes / cfg.n_vocab;
        std::vector<uint8_t> raw(row_bytes);
        const float embedding_scale = arch.embedding_scaled ? std::sqrt(float(E)) : 1.0f;
        for (int t = 0; t < m; ++t) {
            float* row = &x[static_cast<size_t>(t) * E];
            // pread, not the mapping: a prompt's rows are scattered over the file.
            file.read(embedding->data + row_bytes * tokens[t], row_bytes, raw.data());
            gguf::decode_values(embedding->type, raw.data(), E, row);
            TensorReader(file).check_finite(row, E, embedding->name, tokens[t]);
            if (embedding_scale != 1.0f)
                for (int i = 0; i < E; ++i) row[i] *= embedding_scale;
        }
        rope_angles(rows);
        for (int l = 0; l < cfg.n_layer; ++l) {
            const Layer& L = (*layers)[l];
            // Attention block.
            charge(Model::Part::other);
            run_stage(L, Stage::attn_in, block_input(L, arch.attn_block_norm, m), m);
            head_norm(L, arch.q_head_norm, q.data(), m, cfg.n_head);
            head_norm(L, arch.k_head_norm, kbuf.data(), m, cfg.n_head_kv);
            rope(l, q.data(), m, cfg.n_head, Q);
            rope(l, kbuf.data(), m, cfg.n_head_kv, KV);
            cache_kv(l, rows);
            charge(Model::Part::other);
            attention(l, rows);
            charge(Model::Part::attention);
            run_stage(L, Stage::attn_out, att.data(), m);
            add_block_output(L, arch.attn_post_norm, m);
            // Feed-forward block.
            charge(Model::Part::other);
            const Linear* gate_up =
                run_stage(L, Stage::ffn_in, block_input(L, arch.ffn_block_norm, m), m);
            // In place. Stacked gate/up rows are compacted to F wide: row t's
            // output lands at or before its gate values, over rows already read
            // (no buffer of m x F), so in order; separate gate and up rows stay
            // where they are, so on every thread.
            auto activate = [&](int t) {
                const float* gate = &stacked[static_cast<size_t>(t) * (gate_up ? 2 * F : F)];
                const float* up_row = gate_up ? gate + F : &up[static_cast<size_t>(t) * F];
                backend->vector_loops().gated_activation(
                    cfg.activation, gate, gate_up ? gate_up->part_scale(0) : 1.0f, up_row,
                    gate_up ? gate_up->part_scale(1) : 1.0f, F,
                    &stacked[static_cast<size_t>(t) * F]);
            };
            if (gate_up)
                for (int t = 0; t < m; ++t) activate(t);
            else
                backend->parallel_for(m, activate);
            charge(Model::Part::other);
            run_stage(L, Stage::ffn_out, stacked.data(), m);
            add_block_output(L, arch.ffn_post_norm, m);
        }
        charge(Model::Part::other);
    }

    // Runs the batch's rows through the layers, at most options.ubatch at a
    // time: activations grow with the rows evaluated together, and a chunk's
    // rows see the earlier chunks' keys and values in the cache as if they had
    // been evaluated at once. After each chunk, take(r0, m) reads rows r0 ..
    // r0 + m - 1's final hidden states from x.
    void run(const std::vector<Model::Batch>& batch, const BatchRows& rows,
             const std::function<void(int, int)>& take) {
        const Backend::Scope on_backend(*backend);  // the kernels' loops run on its threads
        for (int r0 = 0; r0 < rows.rows(); r0 += options.ubatch) {
            const int m = std::min(options.ubatch, rows.rows() - r0);
            forward(rows.chunk(r0, m));
            take(r0, m);
        }
        for (const Model::Batch& e : batch) seq_pos[e.seq] += static_cast<int>(e.tokens.size());
    }

    std::vector<std::vector<float>> eval(const std::vector<Model::Batch>& batch) {
        if (!head)
            throw Error(file.path() + " is an embedding model (" + pooling_name(cfg.pooling) +
                        " pooling): it has no LM head to give logits; use tern embed");
        const BatchRows rows(batch, seq_pos, n_ctx, cfg.n_vocab);
        std::vector<float> logits(rows.wanted() * static_cast<size_t>(cfg.n_vocab));
        run(batch, rows, [&](int r0, int m) {
            size_t first = 0;
            const std::vector<int> wanted = rows.wanted_in(r0, m, &first);
            if (!wanted.empty()) {
                logits_of(wanted, &logits[first * cfg.n_vocab]);
                charge(Model::Part::lm_head);
            }
        });
        return rows.scatter(logits, cfg.n_vocab);
    }

    // Each entry's final hidden states (after the output norm) pooled as the
    // file says, L2-normalised if asked.
    std::vector<std::vector<float>> embed(const std::vector<Model::Batch>& batch, Pooling pooling,
                                          bool normalize) {
        const BatchRows rows(batch, seq_pos, n_ctx, cfg.n_vocab);
        const int E = cfg.n_embd;
        std::vector<std::vector<float>> out(batch.size(), std::vector<float>(E, 0.0f));
        std::vector<int> entry_of, first_of, last_of;  // per row, per entry, per entry
        for (size_t b = 0; b < batch.size(); ++b) {
            first_of.push_back(static_cast<int>(entry_of.size()));
            entry_of.insert(entry_of.end(), batch[b].tokens.size(), static_cast<int>(b));
            last_of.push_back(static_cast<int>(entry_of.size()) - 1);
        }
        std::vector<float> xn(E);
        run(batch, rows, [&](int r0, int m) {
            for (int t = 0; t < m; ++t) {
                const int r = r0 + t, b = entry_of[r];
                const bool take = pooling == Pooling::mean ||
                                  (pooling == Pooling::cls && r == first_of[b]) ||
                                  (pooling == Pooling::last && r == last_of[b]);
                if (!take) continue;
                rmsnorm(&x[static_cast<size_t>(t) * E], output_norm.data(), E, xn.data());
                for (int i = 0; i < E; ++i) out[b][i] += xn[i];
            }
            charge(Model::Part::other);
        });
        for (size_t b = 0; b < batch.size(); ++b) {
            std::vector<float>& v = out[b];
            if (pooling == Pooling::mean)
                for (float& e : v) e /= static_cast<float>(batch[b].tokens.size());
            if (!normalize) continue;
            double ss = 0;
            for (float e : v) ss += double(e) * e;
            // A zero vector stays zero (llama.cpp's convention), not NaN.
            const float inv = ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.0f;
            for (float& e : v) e *= inv;
        }
        return out;
    }
};

namespace {

// What a model will allocate, estimated from its settings before anything large
// is: the KV cache of every sequence, the repacked ternary weights (2 bits, as
// the widest layout pads them), the int8 LM head and its scales.
struct MemoryEstimate {
    double kv = 0, weights = 0, head = 0;
    double total() const { return kv + weights + head; }
};

MemoryEstimate estimate_memory(const gguf::File& file, const ModelConfig& c, int n_ctx, int n_seq,
                               LmHead head, CacheType cache) {
    MemoryEstimate e;
    e.kv = static_cast<double>(
        KvCache::bytes_for(cache, {c.n_layer, n_seq, n_ctx, c.n_head_kv, c.head_dim}));
    for (const gguf::TensorInfo& t : file.tensors())
        if (t.name.rfind("blk.", 0) == 0 && t.dims.size() == 2)
            e.weights += static_cast<double>(t.elements()) / 4.0;
    e.head = static_cast<double>(
        OutputHead::bytes_made_at_load(head, file.tensor(c.head_tensor), c.n_vocab, c.n_embd));
    return e;
}

double physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0;
}

std::string gib(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
    return buf;
}

}  // namespace

// Refuses a model whose allocations would not fit this machine's memory,
// before making them: an error with the estimate beats an OOM kill.
void Model::check_memory(const Impl& impl) {
    const MemoryEstimate e = estimate_memory(impl.file, impl.cfg, impl.n_ctx, impl.options.n_seq,
                                             impl.options.lm_head, impl.options.cache_type);
    const double available = physical_memory_bytes();
    if (available > 0 && e.total() > available)
        throw Error(impl.file.path() + ": loading needs about " + gib(e.total()) + " (KV cache " +
                    gib(e.kv) + " for " + std::to_string(impl.options.n_seq) + " x " +
                    std::to_string(impl.n_ctx) + " tokens, weights " + gib(e.weights) +
                    ", LM head " + gib(e.head) + "), more than the " + gib(available) +
                    " of memory this machine has; use a smaller -c or -np");
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& path, const ModelOptions& options) {
    return load(path, options, Backend::create(options.bundle, options.threads));
}

std::unique_ptr<Model> Model::load(const std::string& path, const ModelOptions& options,
                                   std::shared_ptr<Backend> backend) {
    const auto start = std::chrono::steady_clock::now();
    if (!backend) throw Error("Model::load: no backend");
    auto impl = std::make_unique<Impl>(File::open(path));
    impl->options = options;
    impl->options.bundle = backend->bundle().target();
    impl->options.threads = backend->threads();
    impl->backend = std::move(backend);
    impl->norm_kernel = &impl->backend->bundle().kernel("rmsnorm_quant");
    impl->read_config();
    if (options.n_ctx < 1)
        throw Error("context size " + std::to_string(options.n_ctx) + " must be positive");
    impl->n_ctx = std::min(options.n_ctx, impl->cfg.n_ctx_train);
    if (options.n_seq < 1)
        throw Error("sequence count " + std::to_string(options.n_seq) + " must be positive");
    if (options.ubatch < 1)
        throw Error("batch chunk size (ubatch) " + std::to_string(options.ubatch) +
                    " must be positive");
    check_memory(*impl);
    impl->load_weights();
    const size_t slots = static_cast<size_t>(options.n_seq);
    impl->kv = KvCache::make(options.cache_type, impl->kv_shape(options.n_seq),
                             impl->backend->vector_loops());
    impl->seq_pos.assign(slots, 0);
    impl->load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::unique_ptr<Model>(new Model(std::move(impl)));
}

const ModelConfig& Model::config() const { return impl_->cfg; }
const gguf::File& Model::file() const { return impl_->file; }
const Backend& Model::backend() const { return *impl_->backend; }
const ModelOptions& Model::options() const { return impl_->options; }
double Model::load_seconds() const { return impl_->load_seconds; }
int Model::position(int seq) const { return impl_->seq_pos.at(seq); }
void Model::reset(int seq) { impl_->seq_pos.at(seq) = 0; }
void Model::truncate(int seq, int n) {
    int& pos = impl_->seq_pos.at(seq);
    if (n < 0 || n > pos)
        throw Error("truncate: sequence " + std::to_string(seq) + " holds " + std::to_string(pos) +
                    " positions; cannot keep " + std::to_string(n));
    pos = n;
}
int Model::context() const { return impl_->n_ctx; }
uint64_t Model::kv_cache_bytes() const { return impl_->kv->bytes(); }

void Model::set_threads(int threads) {
    impl_->backend->set_threads(threads);
    impl_->options.threads = threads = impl_->backend->threads();
    impl_->layers->plan_for_threads(impl_->backend->bundle(), threads, impl_->options.weights);
}

void KernelOverrides::use_gemv(Model& model, int k, int n, const KernelInfo& gemv) {
    Model::Impl& impl = *model.impl_;
    if (!gemv.is_ternary())
        throw Error("use_gemv: kernel " + gemv.name + " (" + family_name(gemv.family) +
                    ") is not a ternary kernel");
    const Layout layout = gemv.layout();
    bool found = false;
    for (Linear* l : impl.layers->linears()) {
        {
            if (l->w.k != k || l->w.n != n) continue;
            found = true;
            if (!can_read(gemv, l->w)) {
                // The file's tensors may already be released; the packed
                // matrix holds every weight, so it is the source.
                l->w = pack(unpack(l->w), layout);
                l->plan.layout = layout;
                l->plan.gemm = &gemv;
                for (const KernelInfo& c : impl.backend->bundle().kernels())
                    if (c.is_ternary() && c.m_tile() > l->plan.gemm->m_tile() && can_read(c, l->w))
                        l->plan.gemm = &c;
                l->plan.batch.clear();
            }
            l->plan.gemv = &gemv;
        }
    }
    if (!found)
        throw Error("use_gemv: the model has no " + std::to_string(k) + " x " + std::to_string(n) +
                    " ternary weights");
}

void KernelOverrides::use_head_gemv(Model& model, const KernelInfo& kernel) {
    if (!model.impl_->head) throw Error("use_head_gemv: an embedding model has no LM head");
    model.impl_->head->use_kernel(kernel);
}

uint64_t Model::bytes_per_token() const {
    return packed_bytes() + (impl_->head ? impl_->head->bytes_per_token() : 0);
}

std::vector<Region> Model::weight_regions() const {
    std::vector<Region> out;
    for (const Linear* l : impl_->layers->linears())
        out.push_back({l->w.data.data(), l->w.data.size()});
    if (impl_->head)
        for (const Region& r : impl_->head->regions()) out.push_back(r);
    return out;
}

uint64_t Model::packed_bytes() const {
    uint64_t total = impl_->head ? impl_->head->packed_bytes() : 0;
    return total + (impl_->layers ? impl_->layers->packed_bytes() : 0);
}

std::string Model::Timing::name() const {
    switch (part) {
        case Part::ternary:
            return "ternary " + (kernel ? kernel->name : std::string("?"));
        case Part::norm_quantize:
            return "norm+quantise";
        case Part::attention:
            return "attention";
        case Part::lm_head:
            return "lm head";
        case Part::other:
            break;
    }
    return "other";
}

std::vector<Model::Timing> Model::timings() const { return impl_->timing; }
void Model::clear_timings() { impl_->timing.clear(); }

std::vector<float> Model::eval(const std::vector<int>& tokens, bool all_logits) {
    return std::move(impl_->eval({{0, tokens, all_logits}}).front());
}

std::vector<std::vector<float>> Model::eval_batch(const std::vector<Batch>& batch) {
    return impl_->eval(batch);
}

std::vector<std::vector<float>> Model::embed(const std::vector<std::vector<int>>& texts,
                                             const EmbedOptions& o) {
    Impl& m = *impl_;
    const Pooling pooling = o.pooling.value_or(m.cfg.pooling);
    if (pooling == Pooling::none)
        throw Error(m.file.path() + " says no pooling (" + m.cfg.key("pooling_type") +
                    " absent or 0): it is not an embedding model; give a pooling to embed with");
    if (texts.empty()) return {};
    if (static_cast<int>(texts.size()) > m.options.n_seq)
        throw Error("embed: " + std::to_string(texts.size()) +
                    " texts at once, but the model was "
                    "loaded for " +
                    std::to_string(m.options.n_seq) + " sequences");
    std::vector<Batch> batch;
    for (size_t i = 0; i < texts.size(); ++i) {
        if (texts[i].empty()) throw Error("embed: text " + std::to_string(i) + " has no tokens");
        m.seq_pos[i] = 0;
        batch.push_back({static_cast<int>(i), texts[i], false});
    }
    // The slots are left empty however embed ends.
    struct EmptySlots {
        std::vector<int>& pos;
        size_t n;
        ~EmptySlots() { std::fill_n(pos.begin(), n, 0); }
    } empty{m.seq_pos, texts.size()};
    return m.embed(batch, pooling, o.normalize);
}

std::vector<Model::LinearChoice> Model::linear_choices() const {
    std::vector<LinearChoice> out;
    if (!impl_->layers || impl_->layers->size() == 0) return out;
    for (const Linear* l : (*impl_->layers)[0].linears()) {
        LinearChoice c;
        for (const Linear::Part& p : l->parts)
            c.tensor +=
                (c.tensor.empty() ? "blk.*." : " + ") + p.name.substr(p.name.find('.', 4) + 1);
        c.k = l->w.k;
        c.n = l->w.n;
        c.gemv = l->plan.gemv;
        c.gemm = l->plan.gemm;
        c.batch = l->plan.batch;
        c.layout = l->w.layout;
        c.bytes = l->w.data.size();
        out.push_back(c);
    }
    return out;
}

}  // namespace tern
