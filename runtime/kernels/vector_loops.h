// The float loops a model runs besides the generated kernels: attention over
// the KV cache, the F16 cache's rounding, the LM head at file precision (F16
// rows, or decoded rows), and the gated activation (internal to the runtime).
//
// The runtime is built for baseline x86-64; with GCC these loops are also
// compiled for AVX2 (+FMA, F16C) and AVX-512F, one row of this table per
// instruction set. A Backend picks its row from its bundle's CPU features, the
// one CPU dispatch for everything a model runs: a model forced onto the AVX2
// bundle runs AVX2 attention too, as it would on an AVX2-only CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "tern/architecture.h"

namespace tern {

enum class VectorIsa { generic, avx2, avx512 };

struct VectorLoops {
    VectorIsa isa = VectorIsa::generic;
    const char* name = "generic";  // "avx512f", "avx2", "generic"

    // Attention of a KV head group, F32 or F16 cache (see attention.h).
    void (*attend_f32)(const float* q, int g, int hd, const KvHeadView<float>& kv,
                       const AttentionSpan& span, float* scratch, float* out) = nullptr;
    void (*attend_f16)(const float* q, int g, int hd, const KvHeadView<uint16_t>& kv,
                       const AttentionSpan& span, float* scratch, float* out) = nullptr;
    // kv_half of n values.
    void (*kv_halves)(const float* x, size_t n, uint16_t* out) = nullptr;
    // y[r] = sum_i half(rows[r * k + i]) * x[i] for r < n.
    void (*f16_gemv)(const uint16_t* rows, size_t n, int k, const float* x, float* y) = nullptr;
    // sum_i a[i] * b[i] in eight partial sums.
    float (*dot)(const float* a, const float* b, int n) = nullptr;
    // out = act(gate * gate_scale) * up * up_scale over n values.
    void (*gated_activation)(Activation a, const float* gate, float gate_scale, const float* up,
                             float up_scale, int n, float* out) = nullptr;

    void attend(const float* q, int g, int hd, const KvHeadView<float>& kv,
                const AttentionSpan& span, float* scratch, float* out) const {
        attend_f32(q, g, hd, kv, span, scratch, out);
    }
    void attend(const float* q, int g, int hd, const KvHeadView<uint16_t>& kv,
                const AttentionSpan& span, float* scratch, float* out) const {
        attend_f16(q, g, hd, kv, span, scratch, out);
    }
};

// The widest row that `features` (a bundle's CPU features, as /proc/cpuinfo
// spells them) cover and this build has code for; generic if none.
const VectorLoops& vector_loops_for(const std::vector<std::string>& features);
// Every row of this build whose instruction set this CPU runs (tests check
// each), generic first.
std::vector<const VectorLoops*> runnable_vector_loops();

// Each source fills in its loops of a row (internal to vector_loops.cpp).
void add_attention_loops(VectorLoops& row);
void add_f16_gemv_loop(VectorLoops& row);

}  // namespace tern
