// The model's owned parts through their factories and constructors, each on
// its own: the KV cache (F32 and F16) against a plain softmax, the LM heads
// (file, int8, int4) against the file's rows, the batch splitter's validation,
// chunks and scattering, and the layer weights' stacks and plans.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <utility>

#include "error_of.h"
#include "model/batch_rows.h"
#include "model/kv_cache.h"
#include "model/layer_weights.h"
#include "model/output_head.h"
#include "tern/error.h"
#include "tern/gguf_tensors.h"
#include "tern/synthetic_model.h"

namespace tern {
namespace {

namespace fs = std::filesystem;

// A tiny model file of this process, removed at exit.
struct TinyFile {
    std::string path =
        (fs::temp_directory_path() / ("tern_model_parts_" + std::to_string(::getpid()) + ".gguf"))
            .string();
    TinyFile() {
        SyntheticModelOptions o;
        o.arch = "bitnet-25";
        o.seed = 9;
        write_synthetic_model(path, model_preset("tiny"), o);
    }
    ~TinyFile() { fs::remove(path); }
};
const TinyFile& tiny() {
    static const TinyFile file;
    return file;
}

// Keys and values of positions 0 .. n-1 stored in two chunks, then attention
// over them equals a plain softmax in double over the stored values (rounded
// to halves for F16), for a slot and layer with neighbours on either side.
TEST(KvCacheParts, EachTypeAttendsOverWhatItStored) {
    const KvCache::Shape shape{2, 3, 70, 2, 16};
    const int KV = shape.kv_width(), hd = shape.head_dim, n = 67, slot = 1, layer = 1;
    std::mt19937 rng(4);
    std::normal_distribution<float> normal(0.0f, 1.5f);
    std::vector<float> k(static_cast<size_t>(n) * KV), v(k.size()), q(2 * hd);
    for (float& x : k) x = normal(rng);
    for (float& x : v) x = normal(rng);
    for (float& x : q) x = normal(rng);
    for (CacheType type : {CacheType::f32, CacheType::f16}) {
        const auto cache = KvCache::make(type, shape, *runnable_vector_loops().back());
        EXPECT_EQ(cache->type(), type);
        EXPECT_EQ(cache->bytes(), KvCache::bytes_for(type, shape));
        std::vector<int> slots(n, slot), pos(n);
        for (int t = 0; t < n; ++t) pos[t] = t;
        cache->store(layer, 40, slots.data(), pos.data(), k.data(), v.data());
        cache->store(layer, n - 40, slots.data() + 40, pos.data() + 40, &k[40 * KV], &v[40 * KV]);
        auto stored = [&](float x) {
            return type == CacheType::f16 ? gguf::f16_to_f32(kv_half(x)) : x;
        };
        const int kvh = 1, group = 2;
        std::vector<float> scratch(static_cast<size_t>(group) * (n + kAttentionKeyBlock)),
            out(group * hd);
        cache->attend(layer, slot, kvh, q.data(), group,
                      AttentionSpan{0, n, 1 / std::sqrt(float(hd))}, scratch.data(), out.data());
        for (int h = 0; h < group; ++h) {
            std::vector<double> s(n);
            double mx = -INFINITY, sum = 0;
            for (int t = 0; t < n; ++t) {
                double d = 0;
                for (int i = 0; i < hd; ++i)
                    d += double(q[h * hd + i]) *
                         stored(k[static_cast<size_t>(t) * KV + kvh * hd + i]);
                s[t] = d / std::sqrt(double(hd));
                mx = std::max(mx, s[t]);
            }
            for (double& x : s) sum += (x = std::exp(x - mx));
            for (int i = 0; i < hd; ++i) {
                double want = 0;
                for (int t = 0; t < n; ++t)
                    want += s[t] / sum * stored(v[static_cast<size_t>(t) * KV + kvh * hd + i]);
                EXPECT_NEAR(out[h * hd + i], want, 1e-5 * (1 + std::abs(want)))
                    << cache_type_name(type) << " head " << h << " dim " << i;
            }
        }
    }
}

double correlation(const std::vector<float>& a, const std::vector<double>& b) {
    double ma = 0, mb = 0;
    for (size_t i = 0; i < a.size(); ++i) ma += a[i] / a.size(), mb += b[i] / b.size();
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        ab += (a[i] - ma) * (b[i] - mb);
        aa += (a[i] - ma) * (a[i] - ma);
        bb += (b[i] - mb) * (b[i] - mb);
    }
    return ab / std::sqrt(aa * bb);
}

// Every head kind the factory makes gives logits of m rows close to the
// file's rows times the activations (exact for the file's rows up to float
// sums; the int8 and int4 heads within their quantisation), and says what it
// made.
TEST(OutputHeadParts, EveryKindMatchesTheFileRows) {
    const gguf::File file = gguf::File::open(tiny().path);
    const ModelConfig cfg = model_config(file);
    const gguf::TensorInfo& rows = file.tensor(cfg.head_tensor);
    const int V = cfg.n_vocab, E = cfg.n_embd, m = 3;
    std::mt19937 rng(2);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(m) * E);
    for (float& v : x) v = normal(rng);
    std::vector<double> want(static_cast<size_t>(m) * V);
    std::vector<float> row(E);
    for (int r = 0; r < V; ++r) {
        gguf::decode_row(file, rows, r, row.data());
        for (int t = 0; t < m; ++t) {
            double d = 0;
            for (int i = 0; i < E; ++i) d += double(row[i]) * x[static_cast<size_t>(t) * E + i];
            want[static_cast<size_t>(t) * V + r] = d;
        }
    }
    const auto backend = Backend::create("", 2);
    const Backend::Scope scope(*backend);
    for (LmHead kind : {LmHead::file, LmHead::int8, LmHead::int4}) {
        const auto head = OutputHead::make(kind, *backend, file, rows, V, E);
        EXPECT_EQ(head->kind(), kind);
        if (kind != LmHead::file) {
            // The estimate the memory check uses is within 5% of what was made.
            const double made = head->packed_bytes(),
                         estimate = OutputHead::bytes_made_at_load(kind, rows, V, E);
            EXPECT_NEAR(made / estimate, 1.0, 0.05) << lm_head_name(kind);
        } else {
            // The file head copies F16 rows and nothing else: the estimate is exact.
            EXPECT_EQ(head->packed_bytes(), OutputHead::bytes_made_at_load(kind, rows, V, E));
        }
        std::vector<float> got(want.size());
        head->logits(x.data(), m, got.data());
        const double r = correlation(got, want);
        EXPECT_GT(r, kind == LmHead::file   ? 0.999999
                     : kind == LmHead::int8 ? 0.999
                                            : 0.99)
            << lm_head_name(kind);
        if (kind == LmHead::file) {
            for (size_t i = 0; i < got.size(); ++i)
                ASSERT_NEAR(got[i], want[i], 1e-4 * (1 + std::abs(want[i]))) << i;
        }
        if (kind != LmHead::int8) {
            EXPECT_THROW(head->use_kernel(backend->bundle().kernel("int8_gemv")), Error);
        }
    }
}

using test::error_of;

// The splitter refuses what eval must refuse, each with its reason.
TEST(BatchRowsParts, RefusesBadBatches) {
    const std::vector<int> pos = {0, 5};  // two slots, the second holding 5 tokens
    auto refusal = [&](const std::vector<Model::Batch>& b) {
        return error_of([&] { BatchRows(b, pos, 8, 100); });
    };
    EXPECT_NE(refusal({}).find("no sequences"), std::string::npos);
    EXPECT_NE(refusal({{2, {1}, false}}).find("sequence 2 is not one of the 2"), std::string::npos);
    EXPECT_NE(refusal({{0, {}, false}}).find("no tokens for sequence 0"), std::string::npos);
    EXPECT_NE(refusal({{0, {1}, false}, {0, {2}, false}}).find("in the batch twice"),
              std::string::npos);
    EXPECT_NE(refusal({{1, {1, 2, 3, 4}, false}}).find("exceed the context of 8"),
              std::string::npos);
    EXPECT_NE(refusal({{0, {100}, false}}).find("token id 100"), std::string::npos);
    EXPECT_EQ(refusal({{1, {1, 2, 3}, false}}), "");
}

// Rows in batch order with each sequence's slot and positions; wanted rows
// found per chunk; logits scattered back per entry.
TEST(BatchRowsParts, ChunksAndScatters) {
    const std::vector<int> pos = {4, 0, 2};
    const BatchRows rows({{2, {7, 8, 9}, true}, {0, {5}, false}, {1, {1, 2}, false}}, pos, 64, 10);
    ASSERT_EQ(rows.rows(), 6);
    const Rows all = rows.chunk(0, 6);
    EXPECT_EQ(std::vector<int>(all.token, all.token + 6), (std::vector<int>{7, 8, 9, 5, 1, 2}));
    EXPECT_EQ(std::vector<int>(all.slot, all.slot + 6), (std::vector<int>{2, 2, 2, 0, 1, 1}));
    EXPECT_EQ(std::vector<int>(all.pos, all.pos + 6), (std::vector<int>{2, 3, 4, 4, 0, 1}));
    EXPECT_EQ(rows.wanted(), 5u);  // all of the first entry's three, then one each
    size_t first = 0;
    EXPECT_EQ(rows.wanted_in(0, 4, &first), (std::vector<int>{0, 1, 2, 3}));
    EXPECT_EQ(first, 0u);
    EXPECT_EQ(rows.wanted_in(4, 2, &first), (std::vector<int>{1}));
    EXPECT_EQ(first, 4u);
    const int V = 2;
    std::vector<float> logits(rows.wanted() * V);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(i);
    const auto out = rows.scatter(logits, V);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0], (std::vector<float>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(out[1], (std::vector<float>{6, 7}));
    EXPECT_EQ(out[2], (std::vector<float>{8, 9}));
}

// Every layer holds the architecture's four stacks at the shapes
// linear_shapes gives, packed for kernels that read them, and re-planning for
// another thread count keeps every kernel able to read its matrix.
TEST(LayerWeightsParts, StacksFollowTheArchitectureRow) {
    const gguf::File file = gguf::File::open(tiny().path);
    const ModelConfig cfg = model_config(file);
    const auto backend = Backend::create("", 2);
    int reported = 0;
    LayerWeights layers(file, cfg, *backend, WeightFormat::tuned, [&](int done, int total) {
        EXPECT_EQ(total, cfg.n_layer);
        reported = std::max(reported, done);
    });
    EXPECT_EQ(reported, cfg.n_layer);
    ASSERT_EQ(layers.size(), cfg.n_layer);
    const auto shapes = linear_shapes(*cfg.arch, ModelWidths(cfg));
    uint64_t bytes = 0;
    for (int l = 0; l < layers.size(); ++l) {
        const std::vector<const Linear*> stacks = std::as_const(layers)[l].linears();
        ASSERT_EQ(stacks.size(), shapes.size());
        for (size_t i = 0; i < stacks.size(); ++i) {
            EXPECT_EQ(std::make_pair(stacks[i]->w.k, stacks[i]->w.n), shapes[i]);
            EXPECT_TRUE(can_read(*stacks[i]->plan.gemv, stacks[i]->w));
            bytes += stacks[i]->w.data.size();
        }
        EXPECT_EQ(layers[l].stacks[1].input_norm, layers[l].norm(LayerTensor::attn_sub_norm));
        EXPECT_EQ(layers[l].norm(LayerTensor::attn_sub_norm).size(),
                  static_cast<size_t>(cfg.n_embd));
        EXPECT_EQ(layers[l].norm(LayerTensor::ffn_sub_norm).size(), static_cast<size_t>(cfg.n_ff));
    }
    EXPECT_EQ(layers.packed_bytes(), bytes);
    EXPECT_EQ(layers.linears().size(), 4u * cfg.n_layer);
    layers.plan_for_threads(backend->bundle(), 1, WeightFormat::tuned);
    for (const Linear* l : layers.linears()) {
        EXPECT_TRUE(can_read(*l->plan.gemv, l->w));
        EXPECT_TRUE(can_read(*l->plan.gemm, l->w));
    }
}

}  // namespace
}  // namespace tern
