// The BitNet forward pass over the bundle's kernels. Read top to bottom: load
// (validate, repack), then eval (embedding, layers, head).
#include "tern/model.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <thread>

#include "kernels/vector_loops.h"
#include "model/kernel_overrides.h"
#include "model/kv_cache.h"
#include "model/output_head.h"
#include "tern/error.h"
#include "tern/gguf_tensors.h"
#include "tern/reference.h"

namespace tern {
namespace {

using gguf::File;
using gguf::TensorInfo;
using gguf::TensorType;

// Ternary weight matrices that read the same input (Q, K and V; gate and up),
// stacked row-wise and repacked as one for the kernels chosen for the stacked
// shape: one kernel call instead of several, whose work divides evenly over
// threads where the small K and V matrices alone would not. A lone matrix is a
// stack of one. Each part keeps its tensor's scale; when the parts' scales
// differ the kernel runs with scale 1 and they are applied as the outputs are
// split.
struct Linear {
    struct Part {
        std::string name;
        int n = 0;
        float scale = 1.0f;
    };
    std::vector<Part> parts;
    LinearPlan plan;
    PackedMatrix w;
    bool scaled_in_kernel = true;
    float part_scale(size_t i) const { return scaled_in_kernel ? 1.0f : parts[i].scale; }
};

struct Layer {
    std::vector<float> attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm;
    Linear qkv, o, gate_up, down;
};

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

namespace {

// The ternary matrices of a layer as the architecture stacks them (its
// table row), in the order of Layer's qkv, o, gate_up and down, sized for this
// model: each stacks its tensors' rows (parts) over k inputs.
struct StackShape {
    std::vector<LayerTensor> tensors;
    int k;
    std::vector<int> parts;  // rows of each tensor
};

std::vector<StackShape> stack_shapes(const Architecture& arch, int E, int F, int KV) {
    auto width = [&](Width w) { return w == Width::embd ? E : w == Width::ff ? F : KV; };
    std::vector<StackShape> out;
    for (const LinearStack& s : arch.stacks) {
        StackShape shape{s.tensors, width(s.k), {}};
        for (Width w : s.rows) shape.parts.push_back(width(w));
        out.push_back(shape);
    }
    return out;
}

}  // namespace

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
    std::vector<Layer> layers;
    std::unique_ptr<OutputHead> head;          // the LM head, as --lm-head chose
    std::vector<LinearPlan> stack_plans;       // per stack of stack_shapes, while loading
    std::vector<AlignedBytes> matrix_storage;  // per layer and stack, slices of one buffer

    std::unique_ptr<KvCache> kv;  // every layer's, one slot per sequence
    std::vector<int> seq_pos;     // tokens in each slot's cache
    // The rows one forward() evaluates (a batch, or its chunk of ubatch rows):
    // each row's token, sequence slot and position in that sequence.
    struct Rows {
        const int* token;
        const int* slot;
        const int* pos;
        int m;
    };

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

    // Scratch, sized for the largest batch seen.
    std::vector<float> x, xb, q, kbuf, vbuf, att, stacked, rope_cos, rope_sin;
    std::vector<int8_t> qx;
    std::vector<float> sx;

    explicit Impl(File f) : file(std::move(f)) {}

    KvCache::Shape kv_shape(int n_seq) const {
        return {cfg.n_layer, n_seq, n_ctx, cfg.n_head_kv, cfg.head_dim};
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(file.path() + ": " + what);
    }

    // Weights must be finite: a NaN or infinity from a damaged file would
    // otherwise spread through every later activation (and quantising it to
    // int8 is undefined in C++).
    void check_finite(const float* v, int n, const std::string& name, uint64_t row) const {
        for (int i = 0; i < n; ++i)
            if (!std::isfinite(v[i]))
                fail("tensor '" + name + "' row " + std::to_string(row) + " column " +
                     std::to_string(i) + " holds " + std::to_string(v[i]) +
                     "; weights must be finite numbers");
    }

    const TensorInfo& tensor(const std::string& name, std::vector<uint64_t> dims) const {
        const TensorInfo& t = file.tensor(name);
        if (t.dims != dims)
            fail("tensor '" + name + "' has shape " + gguf::dims_text(t.dims) + ", expected " +
                 gguf::dims_text(dims) + " (from the model's metadata)");
        return t;
    }

    std::vector<float> vector_tensor(const std::string& name, int n) const {
        const TensorInfo& t = tensor(name, {uint64_t(n)});
        // Norms are stored unquantised: one value per block.
        auto plain = [](const gguf::TypeTraits& r) { return !r.ternary && r.block_values == 1; };
        if (!plain(gguf::traits(t.type)))
            fail("tensor '" + name + "' is " + gguf::tensor_type_name(t.type) + ", expected " +
                 gguf::type_names(plain));
        std::vector<float> out(n);
        gguf::decode_row(file, t, 0, out.data());
        check_finite(out.data(), n, name, 0);
        return out;
    }

    // The named k-column ternary tensors of ns rows each, stacked (see Linear).
    Linear linear(const std::vector<std::string>& names, int k, const std::vector<int>& ns,
                  const LinearPlan& plan, AlignedBytes storage) {
        Linear l;
        std::vector<RowSource> sources;
        std::vector<const TensorInfo*> infos;
        int n_total = 0;
        for (size_t i = 0; i < names.size(); ++i) {
            const TensorInfo& t = tensor(names[i], {uint64_t(k), uint64_t(ns[i])});
            gguf::TernaryTensor tt = gguf::ternary_tensor(file, t);
            l.parts.push_back({names[i], ns[i], tt.scale});
            sources.push_back(std::move(tt.rows));
            infos.push_back(&t);
            n_total += ns[i];
            if (tt.scale != l.parts.front().scale) l.scaled_in_kernel = false;
        }
        auto rows = [&](int row, int8_t* out) {
            size_t i = 0;
            for (; row >= l.parts[i].n; ++i) row -= l.parts[i].n;
            sources[i](row, out);
        };
        l.plan = plan;
        l.w = pack(n_total, k, l.scaled_in_kernel ? l.parts.front().scale : 1.0f, rows,
                   l.plan.layout, std::move(storage));
        for (const TensorInfo* t : infos) file.release(*t);
        return l;
    }

    void read_config() {
        cfg = model_config(file, options.activation);
        embedding = &file.tensor(kTokenEmbdTensor);
        head_weights = &file.tensor(cfg.head_tensor);
    }

    void load_layer(int l) {
        const int E = cfg.n_embd, F = cfg.n_ff, KV = cfg.n_head_kv * cfg.head_dim;
        Layer& L = layers[l];
        L.attn_norm = vector_tensor(tensor_name(l, LayerTensor::attn_norm), E);
        L.ffn_norm = vector_tensor(tensor_name(l, LayerTensor::ffn_norm), E);
        // Without sub-norms (Llama), the normalisation before quantising stays
        // and its weight is one.
        L.attn_sub_norm = cfg.arch->has(LayerTensor::attn_sub_norm)
                              ? vector_tensor(tensor_name(l, LayerTensor::attn_sub_norm), E)
                              : std::vector<float>(E, 1.0f);
        L.ffn_sub_norm = cfg.arch->has(LayerTensor::ffn_sub_norm)
                             ? vector_tensor(tensor_name(l, LayerTensor::ffn_sub_norm), F)
                             : std::vector<float>(F, 1.0f);
        Linear* targets[] = {&L.qkv, &L.o, &L.gate_up, &L.down};
        const auto stacks = stack_shapes(*cfg.arch, E, F, KV);
        if (stacks.size() != 4)  // the forward pass below runs qkv, o, gate_up and down
            fail(std::string("architecture ") + cfg.arch->name + " does not stack 4 matrices");
        for (size_t i = 0; i < stacks.size(); ++i) {
            std::vector<std::string> names;
            for (LayerTensor t : stacks[i].tensors) names.push_back(tensor_name(l, t));
            *targets[i] = linear(names, stacks[i].k, stacks[i].parts, stack_plans[i],
                                 matrix_storage[l * stacks.size() + i]);
        }
    }

    // The plan of each stack (the same in every layer), and one zeroed buffer for
    // every layer's packed matrices, sliced per matrix in load order: the
    // huge-page padding of AlignedBytes is paid once (as 120 separate buffers,
    // 2B4T's 2-bit matrices carried 163 MiB of it).
    void plan_matrices() {
        std::vector<size_t> sizes;
        stack_plans.clear();
        for (const StackShape& stack :
             stack_shapes(*cfg.arch, cfg.n_embd, cfg.n_ff, cfg.n_head_kv * cfg.head_dim)) {
            int n = 0;
            for (int part : stack.parts) n += part;
            stack_plans.push_back(
                backend->bundle().plan_linear(stack.k, n, options.threads, options.weights));
            sizes.push_back(packed_shape(stack_plans.back().layout, n, stack.k).bytes);
        }
        auto padded = [](size_t bytes) { return (bytes + 63) / 64 * 64; };
        size_t layer_bytes = 0;
        for (size_t bytes : sizes) layer_bytes += padded(bytes);
        const AlignedBytes arena(layer_bytes * cfg.n_layer);
        size_t offset = 0;
        matrix_storage.clear();
        for (int l = 0; l < cfg.n_layer; ++l)
            for (size_t bytes : sizes) {
                matrix_storage.push_back(arena.slice(offset, bytes));
                offset += padded(bytes);
            }
    }

    // Layers are decoded and repacked on `threads` threads; the first error
    // (in layer order of discovery) is rethrown.
    void load_weights() {
        const int E = cfg.n_embd;
        output_norm = vector_tensor(kOutputNormTensor, E);
        layers.resize(cfg.n_layer);
        plan_matrices();
        std::atomic<int> next{0}, done{0};
        std::mutex mu;
        std::exception_ptr error;
        auto worker = [&] {
            for (int l; (l = next++) < cfg.n_layer;) {
                try {
                    load_layer(l);
                } catch (...) {
                    std::lock_guard<std::mutex> lock(mu);
                    if (!error) error = std::current_exception();
                    next = cfg.n_layer;
                }
                std::lock_guard<std::mutex> lock(mu);
                if (options.progress && !error) options.progress(++done, cfg.n_layer);
            }
        };
        std::vector<std::thread> pool;
        for (int t = 1; t < std::min(options.threads, cfg.n_layer); ++t) pool.emplace_back(worker);
        worker();
        for (auto& t : pool) t.join();
        matrix_storage.clear();  // the matrices hold their slices
        if (error) std::rethrow_exception(error);
        head = OutputHead::make(options.lm_head, *backend, file, *head_weights, cfg.n_vocab, E);
    }

    void ensure_scratch(int m) {
        const int E = cfg.n_embd, F = cfg.n_ff, KV = cfg.n_head_kv * cfg.head_dim;
        const size_t need = static_cast<size_t>(m);
        if (x.size() >= need * E) return;
        x.resize(need * E), xb.resize(need * E), q.resize(need * E), att.resize(need * E);
        kbuf.resize(need * KV), vbuf.resize(need * KV);
        stacked.resize(need * std::max(E + 2 * KV, 2 * F));
        qx.resize(need * std::max(E, F)), sx.resize(need);
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

    // The rotation angles of the m rows being evaluated, the same in every
    // layer and for queries and keys: computed once per eval.
    void rope_angles(const Rows& rows) {
        const int half = cfg.n_rot / 2, m = rows.m;
        rope_cos.resize(static_cast<size_t>(m) * half);
        rope_sin.resize(rope_cos.size());
        for (int t = 0; t < m; ++t) {
            const float p = static_cast<float>(rows.pos[t]);
            for (int i = 0; i < half; ++i) {
                const float theta = p * std::pow(cfg.rope_theta, -2.0f * i / cfg.n_rot);
                rope_cos[static_cast<size_t>(t) * half + i] = std::cos(theta);
                rope_sin[static_cast<size_t>(t) * half + i] = std::sin(theta);
            }
        }
    }

    // RoPE: pair i of a head is dimensions (i, i + n_rot / 2) in NEOX style,
    // (2i, 2i + 1) in the interleaved style; rotated by angle i of the position.
    void rope(float* v, int m, int heads, int row_stride) const {
        const int hd = cfg.head_dim, half = cfg.n_rot / 2;
        const bool neox = cfg.arch->rope == RopeStyle::neox;
        const int second = neox ? half : 1, step = neox ? 1 : 2;
        for (int t = 0; t < m; ++t)
            for (int h = 0; h < heads; ++h) {
                float* r = v + static_cast<size_t>(t) * row_stride + h * hd;
                const float* c = &rope_cos[static_cast<size_t>(t) * half];
                const float* s = &rope_sin[static_cast<size_t>(t) * half];
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
    void attention(int l, const Rows& rows) {
        const int hd = cfg.head_dim, KVH = cfg.n_head_kv, group = cfg.n_head / cfg.n_head_kv;
        backend->parallel_for(rows.m * KVH, [&](int job) {
            const int t = job / KVH, kvh = job % KVH, n = rows.pos[t] + 1;
            thread_local std::vector<float> scratch;
            scratch.resize(static_cast<size_t>(group) * (n + kAttentionKeyBlock));
            const size_t first = static_cast<size_t>(t) * cfg.n_embd + kvh * group * hd;
            kv->attend(l, rows.slot[t], kvh, &q[first], group, n, scratch.data(), &att[first]);
        });
    }

    // Appends the m new rows' keys (transposed) and values to layer l's cache,
    // each in its sequence's slot.
    void cache_kv(int l, const Rows& rows) {
        kv->store(l, rows.m, rows.slot, rows.pos, kbuf.data(), vbuf.data());
    }

    void rmsnorm(const float* in, const float* weight, int k, float* out) const {
        double ss = 0;
        for (int i = 0; i < k; ++i) ss += static_cast<double>(in[i]) * in[i];
        const float r = 1.0f / std::sqrt(static_cast<float>(ss / k) + cfg.rms_eps);
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
        const int E = cfg.n_embd, F = cfg.n_ff, KV = cfg.n_head_kv * cfg.head_dim, m = rows.m;
        const int* tokens = rows.token;
        start_timer();
        ensure_scratch(m);
        const uint64_t row_bytes = embedding->bytes / cfg.n_vocab;
        std::vector<uint8_t> raw(row_bytes);
        for (int t = 0; t < m; ++t) {
            // pread, not the mapping: a prompt's rows are scattered over the file.
            file.read(embedding->data + row_bytes * tokens[t], row_bytes, raw.data());
            gguf::decode_values(embedding->type, raw.data(), E, &x[static_cast<size_t>(t) * E]);
            check_finite(&x[static_cast<size_t>(t) * E], E, embedding->name, tokens[t]);
        }
        rope_angles(rows);
        for (int l = 0; l < cfg.n_layer; ++l) {
            Layer& L = layers[l];
            // Attention block.
            charge(Model::Part::other);
            norm_quantize(x.data(), L.attn_norm, E, m);
            run_linear(L.qkv, m, stacked.data());
            split(L.qkv, m, {q.data(), kbuf.data(), vbuf.data()});
            rope(q.data(), m, cfg.n_head, E);
            rope(kbuf.data(), m, cfg.n_head_kv, KV);
            cache_kv(l, rows);
            charge(Model::Part::other);
            attention(l, rows);
            charge(Model::Part::attention);
            norm_quantize(att.data(), L.attn_sub_norm, E, m);
            run_linear(L.o, m, xb.data());
            for (size_t i = 0; i < static_cast<size_t>(m) * E; ++i) x[i] += xb[i];
            // Feed-forward block.
            charge(Model::Part::other);
            norm_quantize(x.data(), L.ffn_norm, E, m);
            run_linear(L.gate_up, m, stacked.data());
            // In place, rows compacted to F wide: row t's output lands at or before
            // its gate values, over rows already read (no buffer of m x F).
            for (int t = 0; t < m; ++t) {
                const float* gate = &stacked[static_cast<size_t>(t) * 2 * F];
                backend->vector_loops().gated_activation(
                    cfg.activation, gate, L.gate_up.part_scale(0), gate + F,
                    L.gate_up.part_scale(1), F, &stacked[static_cast<size_t>(t) * F]);
            }
            charge(Model::Part::other);
            norm_quantize(stacked.data(), L.ffn_sub_norm, F, m);
            run_linear(L.down, m, xb.data());
            for (size_t i = 0; i < static_cast<size_t>(m) * E; ++i) x[i] += xb[i];
        }
        charge(Model::Part::other);
    }

    std::vector<std::vector<float>> eval(const std::vector<Model::Batch>& batch) {
        if (batch.empty()) throw Error("eval: no sequences");
        const Backend::Scope on_backend(*backend);  // the kernels' loops run on its threads
        std::vector<int> tokens, slots, positions;  // per row of the batch
        for (size_t b = 0; b < batch.size(); ++b) {
            const Model::Batch& e = batch[b];
            if (e.seq < 0 || e.seq >= options.n_seq)
                throw Error("eval: sequence " + std::to_string(e.seq) + " is not one of the " +
                            std::to_string(options.n_seq) + " the model was loaded for");
            if (e.tokens.empty())
                throw Error("eval: no tokens for sequence " + std::to_string(e.seq));
            for (size_t c = 0; c < b; ++c)
                if (batch[c].seq == e.seq)
                    throw Error("eval: sequence " + std::to_string(e.seq) +
                                " is in the batch twice");
            const int p = seq_pos[e.seq], m = static_cast<int>(e.tokens.size());
            if (p + m > n_ctx)
                throw Error("eval: " + std::to_string(m) + " tokens at position " +
                            std::to_string(p) + " exceed the context of " + std::to_string(n_ctx) +
                            " (use a larger -c)");
            for (int t = 0; t < m; ++t) {
                if (e.tokens[t] < 0 || e.tokens[t] >= cfg.n_vocab)
                    throw Error("eval: token id " + std::to_string(e.tokens[t]) +
                                " is outside the vocabulary of " + std::to_string(cfg.n_vocab));
                slots.push_back(e.seq);
                positions.push_back(p + t);
                tokens.push_back(e.tokens[t]);
            }
        }
        // The rows whose logits are wanted: each sequence's last, or all of its.
        std::vector<int> wanted;
        std::vector<size_t> first_wanted;
        for (size_t b = 0, row = 0; b < batch.size(); ++b) {
            const int n = static_cast<int>(batch[b].tokens.size());
            first_wanted.push_back(wanted.size());
            for (int t = batch[b].all_logits ? 0 : n - 1; t < n; ++t)
                wanted.push_back(static_cast<int>(row) + t);
            row += n;
        }
        std::vector<float> all(wanted.size() * static_cast<size_t>(cfg.n_vocab));
        // At most options.ubatch rows at a time: activations grow with the rows
        // evaluated together, and a chunk's rows see the earlier chunks' keys
        // and values in the cache as if they had been evaluated at once.
        const int total = static_cast<int>(tokens.size());
        size_t next_wanted = 0;
        for (int r0 = 0; r0 < total; r0 += options.ubatch) {
            const int m = std::min(options.ubatch, total - r0);
            forward({&tokens[r0], &slots[r0], &positions[r0], m});
            std::vector<int> rows;  // the chunk's wanted rows, as rows of the chunk
            const size_t first = next_wanted;
            for (; next_wanted < wanted.size() && wanted[next_wanted] < r0 + m; ++next_wanted)
                rows.push_back(wanted[next_wanted] - r0);
            if (!rows.empty()) {
                logits_of(rows, &all[first * cfg.n_vocab]);
                charge(Model::Part::lm_head);
            }
        }
        for (const Model::Batch& e : batch) seq_pos[e.seq] += static_cast<int>(e.tokens.size());
        std::vector<std::vector<float>> out(batch.size());
        for (size_t b = 0; b < batch.size(); ++b) {
            const size_t begin = first_wanted[b] * cfg.n_vocab;
            const size_t end = (b + 1 < batch.size() ? first_wanted[b + 1] : wanted.size()) *
                               static_cast<size_t>(cfg.n_vocab);
            out[b].assign(all.begin() + begin, all.begin() + end);
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
    e.head = static_cast<double>(OutputHead::bytes_made_at_load(head, c.n_vocab, c.n_embd));
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

std::vector<std::pair<int, int>> linear_shapes(const Architecture& arch, int n_embd, int n_ff,
                                               int kv_width) {
    std::vector<std::pair<int, int>> shapes;
    for (const StackShape& s : stack_shapes(arch, n_embd, n_ff, kv_width)) {
        int n = 0;
        for (int part : s.parts) n += part;
        shapes.emplace_back(s.k, n);
    }
    return shapes;
}

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
    for (Layer& layer : impl_->layers) {
        for (Linear* l : {&layer.qkv, &layer.o, &layer.gate_up, &layer.down}) {
            const LinearPlan plan = impl_->backend->bundle().plan_linear(l->w.k, l->w.n, threads,
                                                                         impl_->options.weights);
            if (can_read(*plan.gemv, l->w)) l->plan.gemv = plan.gemv;
            if (can_read(*plan.gemm, l->w)) l->plan.gemm = plan.gemm;
            l->plan.batch.clear();
            for (const KernelInfo* b : plan.batch)
                if (can_read(*b, l->w)) l->plan.batch.push_back(b);
        }
    }
}

void KernelOverrides::use_gemv(Model& model, int k, int n, const KernelInfo& gemv) {
    Model::Impl& impl = *model.impl_;
    if (!gemv.is_ternary())
        throw Error("use_gemv: kernel " + gemv.name + " (" + gemv.family +
                    ") is not a ternary kernel");
    const Layout layout = gemv.layout();
    bool found = false;
    for (Layer& layer : impl.layers) {
        for (Linear* l : {&layer.qkv, &layer.o, &layer.gate_up, &layer.down}) {
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
    model.impl_->head->use_kernel(kernel);
}

uint64_t Model::bytes_per_token() const { return packed_bytes() + impl_->head->bytes_per_token(); }

std::vector<Region> Model::weight_regions() const {
    std::vector<Region> out;
    for (const Layer& L : impl_->layers)
        for (const Linear* l : {&L.qkv, &L.o, &L.gate_up, &L.down})
            out.push_back({l->w.data.data(), l->w.data.size()});
    for (const Region& r : impl_->head->regions()) out.push_back(r);
    return out;
}

uint64_t Model::packed_bytes() const {
    uint64_t total = impl_->head ? impl_->head->packed_bytes() : 0;
    for (const Layer& L : impl_->layers)
        for (const Linear* l : {&L.qkv, &L.o, &L.gate_up, &L.down}) total += l->w.data.size();
    return total;
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

std::vector<Model::LinearChoice> Model::linear_choices() const {
    std::vector<LinearChoice> out;
    if (impl_->layers.empty()) return out;
    const Layer& L = impl_->layers.front();
    for (const Linear* l : {&L.qkv, &L.o, &L.gate_up, &L.down}) {
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
