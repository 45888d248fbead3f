// Causal grouped-query attention over the model's F32 KV cache (internal to
// the runtime; model.cpp calls it).
#pragma once

#include <cstddef>

namespace tern {

// Keys per block of the score loop; the key cache's row length is a multiple
// of it, so that whole blocks can be read past the last valid position.
constexpr int kAttentionKeyBlock = 64;

// One KV head's cache for one layer as attend() reads it.
//   keys:   transposed, key i of position p at keys[i * key_stride + p]
//           (key_stride a multiple of kAttentionKeyBlock, finite everywhere)
//   values: position p's row at values[p * value_stride], head_dim floats
struct KvHeadView {
    const float* keys;
    size_t key_stride;
    const float* values;
    size_t value_stride;
};

// For the g query heads that share one KV head (q: g rows of hd floats, one
// after another), over cached positions 0 .. n-1:
//   out_h = softmax(q_h . k / sqrt(hd)) . v
// scratch holds g * round_up(n, kAttentionKeyBlock) floats. Each block of cached
// keys and each value row is read once for all g heads; exp is a polynomial
// (relative error ~1e-7) so that the softmax vectorises.
void attend(const float* q, int g, int hd, const KvHeadView& kv, int n, float* scratch, float* out);

}  // namespace tern
