// The LM head at file precision when its rows are F16: one dot product of each
// row with a float vector, per instruction set (a row of vector_loops.h).
#include "kernels/stream_prefetch.h"
#include "kernels/vector_loops.h"
#include "tern/gguf_tensors.h"

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12 warns inside its own avx512fintrin.h that the undefined pass-through
// operand of the conversion and reduction intrinsics may be used
// uninitialised; it is not (the mask selects every lane).
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace tern {
namespace {

void f16_gemv_scalar(const uint16_t* rows, size_t n, int k, const float* x, float* y) {
    for (size_t r = 0; r < n; ++r) {
        const uint16_t* w = rows + r * k;
        float acc[8] = {};
        int i = 0;
        for (; i + 8 <= k; i += 8)
            for (int l = 0; l < 8; ++l) acc[l] += gguf::f16_to_f32(w[i + l]) * x[i + l];
        float d = 0;
        for (; i < k; ++i) d += gguf::f16_to_f32(w[i]) * x[i];
        for (float a : acc) d += a;
        y[r] = d;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
// Rows are streamed once, in order, prefetched as stream_prefetch.h says and
// across row ends (without prefetches the 2B4T head read at 14.9 GB/s against
// the probe's 19.3, one thread, Intel Xeon guest). Two accumulators per row
// hide the FMA latency.
__attribute__((target("avx2,f16c,fma"))) void f16_gemv_avx2(const uint16_t* rows, size_t n, int k,
                                                            const float* x, float* y) {
    for (size_t r = 0; r < n; ++r) {
        const uint16_t* w = rows + r * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        int i = 0;
        for (; i + 16 <= k; i += 16) {
            if (i % 32 == 0) prefetch_stream_line(w + i);  // once per 64-byte line
            const __m128i h0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i));
            const __m128i h1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i + 8));
            a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(h0), _mm256_loadu_ps(x + i), a0);
            a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(h1), _mm256_loadu_ps(x + i + 8), a1);
        }
        const __m256 a = _mm256_add_ps(a0, a1);
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        s = _mm_hadd_ps(s, s);
        s = _mm_hadd_ps(s, s);
        float d = _mm_cvtss_f32(s);
        for (; i < k; ++i) d += gguf::f16_to_f32(w[i]) * x[i];
        y[r] = d;
    }
}

__attribute__((target("avx512f"))) void f16_gemv_avx512(const uint16_t* rows, size_t n, int k,
                                                        const float* x, float* y) {
    for (size_t r = 0; r < n; ++r) {
        const uint16_t* w = rows + r * k;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        int i = 0;
        for (; i + 32 <= k; i += 32) {
            prefetch_stream_line(w + i);
            const __m256i h0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i));
            const __m256i h1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i + 16));
            a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(h0), _mm512_loadu_ps(x + i), a0);
            a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(h1), _mm512_loadu_ps(x + i + 16), a1);
        }
        float d = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
        for (; i < k; ++i) d += gguf::f16_to_f32(w[i]) * x[i];
        y[r] = d;
    }
}
#endif

}  // namespace

void add_f16_gemv_loop(VectorLoops& row) {
    row.f16_gemv = f16_gemv_scalar;
#if defined(__x86_64__) && defined(__GNUC__)
    if (row.isa == VectorIsa::avx2) row.f16_gemv = f16_gemv_avx2;
    if (row.isa == VectorIsa::avx512) row.f16_gemv = f16_gemv_avx512;
#endif
}

}  // namespace tern
