#include "tern/reference.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tern/gguf_tensors.h"

namespace tern::ref {

double gate_activation(Activation a, double g) {
    switch (a) {
        case Activation::relu2:
            return g > 0 ? g * g : 0.0;
        case Activation::silu:
            return g / (1.0 + std::exp(-g));
        case Activation::gelu:
            break;
    }
    return 0.5 * g * (1.0 + std::tanh(0.7978845608028654 * (g + 0.044715 * g * g * g)));
}

void quantize_row(const float* x, int k, int8_t* q, float* scale) {
    float absmax = 0.0f;
    for (int i = 0; i < k; ++i) absmax = std::max(absmax, std::fabs(x[i]));
    if (absmax == 0.0f) {
        std::fill(q, q + k, 0);
        *scale = 0.0f;
        return;
    }
    const float s = 127.0f / absmax;
    for (int i = 0; i < k; ++i) {
        const float v = std::min(std::max(x[i] * s, -128.0f), 127.0f);
        // NaN (from a non-finite input) becomes 0: converting it is undefined.
        q[i] = v == v ? static_cast<int8_t>(std::nearbyint(v)) : 0;
    }
    *scale = absmax / 127.0f;
}

void rmsnorm_quantize(const float* x, const float* weight, int k, float eps, int8_t* q,
                      float* scale) {
    double sum_sq = 0.0;
    for (int i = 0; i < k; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
    const float inv_rms = 1.0f / std::sqrt(static_cast<float>(sum_sq / k) + eps);
    std::vector<float> normed(k);
    for (int i = 0; i < k; ++i) normed[i] = x[i] * inv_rms * weight[i];
    quantize_row(normed.data(), k, q, scale);
}

void ternary_dot(const TernaryMatrix& w, const int8_t* q, int m_rows, int32_t* out) {
    for (int m = 0; m < m_rows; ++m) {
        for (int n = 0; n < w.n; ++n) {
            int32_t sum = 0;
            for (int k = 0; k < w.k; ++k) sum += w.at(n, k) * q[static_cast<size_t>(m) * w.k + k];
            out[static_cast<size_t>(m) * w.n + n] = sum;
        }
    }
}

void ternary_linear(const TernaryMatrix& w, const int8_t* q, const float* q_scale, int m_rows,
                    float* y) {
    std::vector<int32_t> dot(static_cast<size_t>(m_rows) * w.n);
    ternary_dot(w, q, m_rows, dot.data());
    for (int m = 0; m < m_rows; ++m) {
        for (int n = 0; n < w.n; ++n) {
            const size_t i = static_cast<size_t>(m) * w.n + n;
            y[i] = static_cast<float>(dot[i]) * (q_scale[m] * w.scale);
        }
    }
}

void int8_gemv(const int8_t* w, const float* row_scale, int n, int k, const int8_t* q,
               float q_scale, float* y) {
    for (int r = 0; r < n; ++r) {
        int32_t sum = 0;
        for (int i = 0; i < k; ++i) sum += w[static_cast<size_t>(r) * k + i] * q[i];
        y[r] = static_cast<float>(sum) * (row_scale[r] * q_scale);
    }
}

void quantize_row_int4(const float* x, int k, int8_t* q, uint16_t* group_scale) {
    for (int g = 0; g < k / kInt4Group; ++g) {
        const float* xg = x + static_cast<size_t>(g) * kInt4Group;
        float absmax = 0.0f;
        for (int i = 0; i < kInt4Group; ++i)
            absmax = std::max(absmax, std::isfinite(xg[i]) ? std::fabs(xg[i]) : 0.0f);
        group_scale[g] = gguf::f32_to_f16(std::min(absmax / 7.0f, 65504.0f));
        const float scale = gguf::f16_to_f32(group_scale[g]);
        for (int i = 0; i < kInt4Group; ++i) {
            const float v =
                scale > 0.0f && std::isfinite(xg[i]) ? std::nearbyint(xg[i] / scale) : 0;
            q[static_cast<size_t>(g) * kInt4Group + i] =
                static_cast<int8_t>(std::clamp(v, -8.0f, 7.0f));
        }
    }
}

void int4_gemv(const int8_t* w, const uint16_t* group_scale, int n, int k, const int8_t* q,
               float q_scale, float* y) {
    const int groups = k / kInt4Group;
    for (int r = 0; r < n; ++r) {
        float acc = 0.0f;
        for (int g = 0; g < groups; ++g) {
            int32_t sum = 0;
            for (int i = g * kInt4Group; i < (g + 1) * kInt4Group; ++i)
                sum += w[static_cast<size_t>(r) * k + i] * q[i];
            acc += static_cast<float>(sum) *
                   gguf::f16_to_f32(group_scale[static_cast<size_t>(r) * groups + g]);
        }
        y[r] = acc * q_scale;
    }
}

}  // namespace tern::ref
