// Causal grouped-query attention over the model's KV cache, held in F32 or F16
// (internal to the runtime): the cache's layout and rounding; the loops are
// rows of vector_loops.h, one per instruction set.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern {

// Positions per block of the key cache and of the score loop.
constexpr int kAttentionKeyBlock = 64;

// One KV head's key cache is blocked and transposed: per block of
// kAttentionKeyBlock positions, head_dim rows of kAttentionKeyBlock floats
// (lanes run over positions). A token's keys then land in one 32 KiB tile
// per head (head_dim 128), not on head_dim pages, and a block reads
// contiguously. Whole blocks are read, so the cache must be finite everywhere.
inline size_t key_offset(int hd, int position, int i) {
    const size_t b = static_cast<size_t>(position) / kAttentionKeyBlock;
    return (b * hd + i) * kAttentionKeyBlock + position % kAttentionKeyBlock;
}
// Elements of one KV head's key cache for n_ctx positions.
inline size_t key_cache_floats(int hd, int n_ctx) {
    const size_t blocks =
        (static_cast<size_t>(n_ctx) + kAttentionKeyBlock - 1) / kAttentionKeyBlock;
    return blocks * kAttentionKeyBlock * hd;
}

// One KV head's cache for one layer as attend() reads it: keys blocked as
// above; position p's values at values[p * value_stride], head_dim elements.
// T is float, or uint16_t for IEEE half precision.
template <typename T>
struct KvHeadView {
    const T* keys;
    const T* values;
    size_t value_stride;
};

// A key or value as the F16 cache stores it: rounded to nearest even and
// saturated at +-65504, so that the cache never holds an infinity (read back
// with gguf::f16_to_f32).
uint16_t kv_half(float x);  // VectorLoops::kv_halves: the same, vectorised

// The cached positions a query attends to, first .. n-1 (first > 0: a sliding
// window), and the factor of its scores (1 / sqrt(head size) as a rule).
struct AttentionSpan {
    int first = 0, n = 0;
    float scale = 1.0f;
};

// For the g query heads that share one KV head (q: g rows of hd floats, one
// after another), over the span's cached positions (VectorLoops::attend):
//   out_h = softmax(q_h . k * scale) . v
// scratch holds g * round_up(n, kAttentionKeyBlock) floats. Each block of cached
// keys and each value row is read once for all g heads; exp is a polynomial
// (relative error ~1e-7) so that the softmax vectorises. Over an F16 cache,
// keys and values are widened to float as they are read, arithmetic in float.

}  // namespace tern
