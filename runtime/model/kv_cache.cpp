// See kv_cache.h. Layout per layer: values, per slot n_ctx rows of kv_width;
// keys blocked and transposed per KV head (attention.h), key_cache_floats per
// KV head and slot.
#include "model/kv_cache.h"

#include <algorithm>
#include <vector>

namespace tern {
namespace {

// T: float (F32) or uint16_t (IEEE half, rounded with kv_halves).
template <typename T>
class KvCacheOf final : public KvCache {
public:
    KvCacheOf(const Shape& s, const VectorLoops& loops)
        : KvCache(s),
          loops_(loops),
          key_floats_(key_cache_floats(s.head_dim, s.n_ctx)),
          k_(s.n_layer, std::vector<T>(size_t(s.n_slots) * key_floats_ * s.n_head_kv)),
          v_(s.n_layer, std::vector<T>(size_t(s.n_slots) * s.n_ctx * s.kv_width())) {}

    CacheType type() const override { return sizeof(T) == 2 ? CacheType::f16 : CacheType::f32; }

    void store(int l, int m, const int* slot, const int* pos, const float* k,
               const float* v) override {
        const T* k_new = as_stored(k, m, k_rounded_);
        const T* v_new = as_stored(v, m, v_rounded_);
        const int KV = shape_.kv_width(), KVH = shape_.n_head_kv, hd = shape_.head_dim;
        std::vector<T>& keys = k_[l];
        std::vector<T>& values = v_[l];
        for (int t = 0; t < m; ++t) {
            const size_t s = static_cast<size_t>(slot[t]);
            for (int h = 0; h < KVH; ++h)
                for (int i = 0; i < hd; ++i)
                    keys[(s * KVH + h) * key_floats_ + key_offset(hd, pos[t], i)] =
                        k_new[static_cast<size_t>(t) * KV + h * hd + i];
            std::copy_n(v_new + static_cast<size_t>(t) * KV, KV,
                        &values[(s * shape_.n_ctx + pos[t]) * KV]);
        }
    }

    void attend(int l, int slot, int kvh, const float* q, int group, const AttentionSpan& span,
                float* scratch, float* out) const override {
        const size_t KV = static_cast<size_t>(shape_.kv_width());
        const size_t keys = (static_cast<size_t>(slot) * shape_.n_head_kv + kvh) * key_floats_;
        const size_t values = static_cast<size_t>(slot) * shape_.n_ctx * KV +
                              static_cast<size_t>(kvh) * shape_.head_dim;
        loops_.attend(q, group, shape_.head_dim, KvHeadView<T>{&k_[l][keys], &v_[l][values], KV},
                      span, scratch, out);
    }

private:
    // New keys or values as this cache stores them: as given (F32), or rounded
    // to halves into `buffer` (F16).
    const T* as_stored(const float* x, int m, std::vector<uint16_t>& buffer) {
        if constexpr (sizeof(T) == 4) {
            (void)m, (void)buffer;
            return x;
        } else {
            const size_t count = static_cast<size_t>(m) * shape_.kv_width();
            buffer.resize(count);
            loops_.kv_halves(x, count, buffer.data());
            return buffer.data();
        }
    }

    const VectorLoops& loops_;
    size_t key_floats_;
    std::vector<std::vector<T>> k_, v_;
    std::vector<uint16_t> k_rounded_, v_rounded_;
};

}  // namespace

std::unique_ptr<KvCache> KvCache::make(CacheType type, const Shape& shape,
                                       const VectorLoops& loops) {
    if (type == CacheType::f16) return std::make_unique<KvCacheOf<uint16_t>>(shape, loops);
    return std::make_unique<KvCacheOf<float>>(shape, loops);
}

uint64_t KvCache::bytes_for(CacheType type, const Shape& s) {
    const uint64_t element = type == CacheType::f16 ? 2 : 4;
    const uint64_t keys = uint64_t(s.n_slots) * key_cache_floats(s.head_dim, s.n_ctx) * s.n_head_kv;
    const uint64_t values = uint64_t(s.n_slots) * s.n_ctx * s.kv_width();
    return element * s.n_layer * (keys + values);
}

}  // namespace tern
