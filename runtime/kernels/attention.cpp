// Attention for one KV head group. Scores are computed with keys transposed
// (blocked, see attention.h),
// so that the vector lanes run over positions and every multiply-add is a full
// vector (no horizontal sums per dot product); outputs with lanes over the head
// dimension, one value row loaded per position for all heads of the group.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/vector_loops.h"
#include "tern/gguf_tensors.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// GCC: the loops are also compiled for AVX2+F16C and AVX-512F (target pragmas
// below), rows of vector_loops.h. F16C's conversions cannot be used
// from GCC's target_clones (an intrinsic needs its target on every function it
// is inlined into), so the loops are copied per target by including them.
#define TERN_ATTENTION_PER_ISA 1
#include <immintrin.h>
#endif

// The 64-byte vector helpers below pass vectors by value; GCC and clang warn
// that this ABI differs with and without AVX-512, which cannot matter for
// functions inlined within this file.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace tern {
namespace {

// Inlined into each copy's entry points.
#define TERN_ATTENTION_INLINE inline __attribute__((always_inline))

namespace generic {
#include "attention_kernels.inc"
}  // namespace generic

#if TERN_ATTENTION_PER_ISA
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
namespace avx2 {
#define TERN_ATTENTION_AVX2
#include "attention_kernels.inc"
#undef TERN_ATTENTION_AVX2
}  // namespace avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma,f16c")
namespace avx512 {
#define TERN_ATTENTION_AVX512
#include "attention_kernels.inc"
#undef TERN_ATTENTION_AVX512
}  // namespace avx512
#pragma GCC pop_options
#endif

}  // namespace

uint16_t kv_half(float x) { return gguf::f32_to_f16(std::min(std::max(x, -65504.0f), 65504.0f)); }

namespace {

void kv_halves_scalar(const float* x, size_t n, uint16_t* out) {
    for (size_t i = 0; i < n; ++i) out[i] = kv_half(x[i]);
}

#if TERN_ATTENTION_PER_ISA
// Saturate, then round to nearest even; max and min take the bound first so
// that a NaN passes through as kv_half lets it.
__attribute__((target("avx512f"))) void kv_halves_avx512(const float* x, size_t n, uint16_t* out) {
    const __m512 lo = _mm512_set1_ps(-65504.0f), hi = _mm512_set1_ps(65504.0f);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        // Zero-masked forms: GCC 12 warns that the plain ones' undefined
        // pass-through "may be used uninitialized".
        const __m512 v = _mm512_maskz_min_ps(
            0xffff, hi, _mm512_maskz_max_ps(0xffff, lo, _mm512_loadu_ps(x + i)));
        _mm256_storeu_si256(
            reinterpret_cast<__m256i*>(out + i),
            _mm512_maskz_cvtps_ph(0xffff, v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    kv_halves_scalar(x + i, n - i, out + i);
}

__attribute__((target("avx,f16c"))) void kv_halves_f16c(const float* x, size_t n, uint16_t* out) {
    const __m256 lo = _mm256_set1_ps(-65504.0f), hi = _mm256_set1_ps(65504.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_loadu_ps(x + i)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                         _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    kv_halves_scalar(x + i, n - i, out + i);
}
#endif

}  // namespace

void add_attention_loops(VectorLoops& row) {
    row.attend_f32 = generic::attend_group<float>;
    row.attend_f16 = generic::attend_group<uint16_t>;
    row.kv_halves = kv_halves_scalar;
#if TERN_ATTENTION_PER_ISA
    if (row.isa == VectorIsa::avx2) {
        row.attend_f32 = avx2::attend_group<float>;
        row.attend_f16 = avx2::attend_group<uint16_t>;
        row.kv_halves = kv_halves_f16c;
    } else if (row.isa == VectorIsa::avx512) {
        row.attend_f32 = avx512::attend_group<float>;
        row.attend_f16 = avx512::attend_group<uint16_t>;
        row.kv_halves = kv_halves_avx512;
    }
#endif
}

}  // namespace tern
