// The KV cache of every layer and sequence slot (internal to the runtime): F32
// or F16 storage behind one interface, made by one factory from --cache-type.
// Nothing outside kv_cache.cpp branches on the cache type.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/vector_loops.h"
#include "tern/model.h"

namespace tern {

class KvCache {
public:
    struct Shape {
        int n_layer = 0, n_slots = 0, n_ctx = 0, n_head_kv = 0, head_dim = 0;
        int kv_width() const { return n_head_kv * head_dim; }
    };
    // Attention runs `loops`' attend (which must outlive the cache).
    static std::unique_ptr<KvCache> make(CacheType type, const Shape& shape,
                                         const VectorLoops& loops);
    // Bytes a cache of this type and shape reserves (the load-time memory check).
    static uint64_t bytes_for(CacheType type, const Shape& shape);
    virtual ~KvCache() = default;

    virtual CacheType type() const = 0;
    const Shape& shape() const { return shape_; }
    uint64_t bytes() const { return bytes_for(type(), shape_); }

    // Stores the keys and values of m new rows of layer l (row t: kv_width floats
    // each of k and v, at position pos[t] of slot slot[t]). Not thread-safe.
    virtual void store(int l, int m, const int* slot, const int* pos, const float* k,
                       const float* v) = 0;
    // For the `group` query heads (q: group rows of head_dim floats) that share
    // KV head kvh: softmax(q . k * span.scale) . v over the span's positions of
    // slot's cache of layer l (see attend() in attention.h for scratch). Safe to
    // call from many threads at once.
    virtual void attend(int l, int slot, int kvh, const float* q, int group,
                        const AttentionSpan& span, float* scratch, float* out) const = 0;

protected:
    explicit KvCache(const Shape& shape) : shape_(shape) {}
    Shape shape_;
};

}  // namespace tern
