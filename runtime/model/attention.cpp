// Attention for one KV head group. Scores are computed with keys transposed
// (blocked, see attention.h),
// so that the vector lanes run over positions and every multiply-add is a full
// vector (no horizontal sums per dot product); outputs with lanes over the head
// dimension, one value row loaded per position for all heads of the group.
#include "model/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/vector_clones.h"
#include "tern/gguf_tensors.h"

// The 64-byte vector helpers below pass vectors by value; GCC and clang warn
// that this ABI differs with and without AVX-512, which cannot matter for
// functions inlined within this file.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace tern {
namespace {

constexpr int B = kAttentionKeyBlock;

// 16 floats as one GCC/Clang generic vector: one zmm in the AVX-512 clone, two
// ymm in the AVX2 one, four xmm (or NEON registers) otherwise. Written out
// rather than left to the auto-vectoriser, which put the lanes across heads
// and spent its time in shuffles.
typedef float Vec __attribute__((vector_size(64)));
typedef int32_t IVec __attribute__((vector_size(64)));
constexpr int W = 16;
static_assert(B % W == 0, "a key block is whole vectors");

TERN_CLONE_INLINE Vec load(const float* p) {
    Vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
TERN_CLONE_INLINE void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }

// 16 halves widened to floats with integer vector operations (no F16C needed,
// so every clone and compiler has it): the exponent and mantissa move to a
// float's positions and a multiply by 2^112 rebiases the exponent, which also
// makes subnormal halves exact normal floats. The cache holds no infinities or
// NaNs (kv_half saturates), so they need no case of their own.
typedef uint16_t HVec __attribute__((vector_size(32)));
typedef uint32_t UVec __attribute__((vector_size(64)));
TERN_CLONE_INLINE Vec load(const uint16_t* p) {
    HVec h;
    std::memcpy(&h, p, sizeof h);
    const UVec u = __builtin_convertvector(h, UVec);
    const Vec magnitude = __builtin_bit_cast(Vec, (u & 0x7fffu) << 13) * 0x1p112f;
    return __builtin_bit_cast(Vec, __builtin_bit_cast(UVec, magnitude) | ((u & 0x8000u) << 16));
}
TERN_CLONE_INLINE float scalar(float x) { return x; }
// The tail loop's widening: gguf's decoder (the same values as load()'s).
inline float scalar(uint16_t h) { return gguf::f16_to_f32(h); }

// e^x for x <= 0 (arguments of a max-subtracted softmax): x = n ln2 + r with
// |r| <= ln2 / 2, e^r by its Taylor series to degree 7 (truncation error below
// 1e-8), times 2^n built in the exponent bits.
TERN_CLONE_INLINE Vec exp_nonpositive(Vec x) {
    x = x < -87.0f ? Vec{} - 87.0f : x;  // below, e^x underflows float anyway
    const Vec t = x * 1.44269504088896341f;
    const Vec n = (t + 12582912.0f) - 12582912.0f;  // round to nearest
    const Vec r = x - n * 0.693147180559945309f;
    Vec p = Vec{} + 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const IVec bits = (__builtin_convertvector(n, IVec) + 127) << 23;
    return p * __builtin_bit_cast(Vec, bits);
}

// Scores of H heads against one block of B positions.
template <int H, typename T>
TERN_CLONE_INLINE void score_block(const float* q, int hd, const T* keys, float scale, float* s,
                                   size_t s_stride) {
    Vec acc[H][B / W] = {};
    for (int i = 0; i < hd; ++i) {
        const T* k = keys + static_cast<size_t>(i) * B;
        Vec kv[B / W];
        for (int v = 0; v < B / W; ++v) kv[v] = load(k + v * W);
        for (int h = 0; h < H; ++h) {
            const float qh = q[h * hd + i];
            for (int v = 0; v < B / W; ++v) acc[h][v] += qh * kv[v];
        }
    }
    for (int h = 0; h < H; ++h)
        for (int v = 0; v < B / W; ++v) store(s + h * s_stride + v * W, acc[h][v] * scale);
}

// out(h, c .. c+15) for H heads: the weighted sum of value rows.
template <int H, typename T>
TERN_CLONE_INLINE void weigh_values(const float* p, size_t p_stride, const KvHeadView<T>& kv, int n,
                                    int c, int hd, float* out) {
    Vec acc[H] = {};
    for (int j = 0; j < n; ++j) {
        const Vec v = load(kv.values + static_cast<size_t>(j) * kv.value_stride + c);
        for (int h = 0; h < H; ++h) acc[h] += p[h * p_stride + j] * v;
    }
    for (int h = 0; h < H; ++h) store(out + h * hd + c, acc[h]);
}

// Softmax over the first n of a row padded to whole blocks (the padding is
// finite and ignored).
TERN_CLONE_INLINE void softmax(float* s, int n) {
    float mx = -INFINITY;
    for (int j = 0; j < n; ++j) mx = std::max(mx, s[j]);
    Vec sum = {};
    int j = 0;
    for (; j + W <= n; j += W) {
        const Vec e = exp_nonpositive(load(s + j) - mx);
        store(s + j, e);
        sum += e;
    }
    float total = 0;
    for (int l = 0; l < W; ++l) total += sum[l];
    if (j < n) {  // the tail, in one padded vector
        Vec e = exp_nonpositive(load(s + j) - mx);
        for (int l = n - j; l < W; ++l) e[l] = 0;
        store(s + j, e);
        for (int l = 0; l < n - j; ++l) total += e[l];
    }
    const float inv = 1.0f / total;
    for (j = 0; j < n; ++j) s[j] *= inv;
}

template <int H, typename T>
TERN_CLONE_INLINE void attend_heads(const float* q, int hd, const KvHeadView<T>& kv, int n,
                                    float* s, size_t s_stride, float* out) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    for (int j0 = 0; j0 < n; j0 += B)
        score_block<H>(q, hd, kv.keys + key_offset(hd, j0, 0), scale, s + j0, s_stride);
    for (int h = 0; h < H; ++h) softmax(s + h * s_stride, n);
    int c = 0;
    for (; c + W <= hd; c += W) weigh_values<H>(s, s_stride, kv, n, c, hd, out);
    for (; c < hd; ++c)  // head sizes not a multiple of 16
        for (int h = 0; h < H; ++h) {
            float acc = 0;
            for (int j = 0; j < n; ++j)
                acc += s[h * s_stride + j] *
                       scalar(kv.values[static_cast<size_t>(j) * kv.value_stride + c]);
            out[h * hd + c] = acc;
        }
}

template <typename T>
TERN_CLONE_INLINE void attend_group(const float* q, int g, int hd, const KvHeadView<T>& kv, int n,
                                    float* scratch, float* out) {
    const size_t s_stride = static_cast<size_t>(n + B - 1) / B * B;
    int h = 0;
    // Four heads at a time keep the score and output accumulators in registers.
    for (; h + 4 <= g; h += 4)
        attend_heads<4>(q + h * hd, hd, kv, n, scratch + h * s_stride, s_stride, out + h * hd);
    for (; h < g; ++h)
        attend_heads<1>(q + h * hd, hd, kv, n, scratch + h * s_stride, s_stride, out + h * hd);
}

}  // namespace

TERN_VECTOR_CLONES void attend(const float* q, int g, int hd, const KvHeadView<float>& kv, int n,
                               float* scratch, float* out) {
    attend_group(q, g, hd, kv, n, scratch, out);
}

TERN_VECTOR_CLONES void attend(const float* q, int g, int hd, const KvHeadView<uint16_t>& kv, int n,
                               float* scratch, float* out) {
    attend_group(q, g, hd, kv, n, scratch, out);
}

uint16_t kv_half(float x) { return gguf::f32_to_f16(std::min(std::max(x, -65504.0f), 65504.0f)); }

}  // namespace tern
