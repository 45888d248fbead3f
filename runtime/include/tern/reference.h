// Plain C++ reference of every op tern generates: the definition the kernels are
// tested against and the tuner verifies candidates with. Written for clarity, not
// speed.
#pragma once

#include <cstdint>

#include "tern/architecture.h"
#include "tern/ternary.h"

namespace tern::ref {

// BitNet b1.58 per-row int8 absmax quantisation:
//   q = round(clamp(x * 127 / max|x|, -128, 127)), scale = max|x| / 127,
// rounding half to even. A row of zeros gives q = 0 and scale = 0.
void quantize_row(const float* x, int k, int8_t* q, float* scale);

// RMSNorm followed by the quantiser: x / sqrt(mean(x^2) + eps) * weight, then
// quantize_row.
void rmsnorm_quantize(const float* x, const float* weight, int k, float eps, int8_t* q,
                      float* scale);

// Integer part of the ternary product: out[m * N + n] = sum_k W(n, k) * q[m * K + k].
void ternary_dot(const TernaryMatrix& w, const int8_t* q, int m_rows, int32_t* out);

// The BitNet linear layer: y[m * N + n] = float(dot) * (q_scale[m] * w.scale).
void ternary_linear(const TernaryMatrix& w, const int8_t* q, const float* q_scale, int m_rows,
                    float* y);

// The feed-forward gate's activation of g: squared ReLU max(g, 0)^2, SiLU
// g / (1 + e^-g), or GELU's tanh form 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))).
double gate_activation(Activation a, double g);

// int8-row GEMV (the LM head): y[n] = float(sum_k W[n * K + k] * q[k]) * (row_scale[n] * q_scale).
void int8_gemv(const int8_t* w, const float* row_scale, int n, int k, const int8_t* q,
               float q_scale, float* y);

// 4-bit LM head rows (--lm-head int4): groups of kInt4Group values, each with the
// scale absmax / 7 rounded to half precision (f16 bits in group_scale) and values
// round(x / scale) clamped to [-8, 7]; k must be a multiple of kInt4Group.
constexpr int kInt4Group = 64;
void quantize_row_int4(const float* x, int k, int8_t* q, uint16_t* group_scale);

// int4-row GEMV: y[n] = q_scale * sum_g scale(n, g) * float(sum_{k in g} W[n * K + k] * q[k]),
// the groups added in order in float, as the kernel does.
void int4_gemv(const int8_t* w, const uint16_t* group_scale, int n, int k, const int8_t* q,
               float q_scale, float* y);

}  // namespace tern::ref
