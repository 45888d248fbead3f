// See tern/reference_model.h. Written for clarity: every step is the textbook
// formula over whole matrices.
#include "tern/reference_model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/attention.h"
#include "tern/error.h"
#include "tern/gguf_tensors.h"
#include "tern/reference.h"

namespace tern::ref {
namespace {

using Matrix = std::vector<std::vector<float>>;  // rows

std::vector<float> vec(const gguf::File& f, const std::string& name) {
    const gguf::TensorInfo& t = f.tensor(name);
    std::vector<float> v(t.dims[0]);
    gguf::decode_row(f, t, 0, v.data());
    return v;
}

struct Ternary {
    std::vector<int8_t> w;  // n x k
    int k = 0, n = 0;
    float scale = 0;
};

Ternary ternary(const gguf::File& f, const std::string& name) {
    const gguf::TernaryTensor t = gguf::ternary_tensor(f, f.tensor(name));
    Ternary out{std::vector<int8_t>(static_cast<size_t>(t.n) * t.k), t.k, t.n, t.scale};
    for (int r = 0; r < t.n; ++r) t.rows(r, &out.w[static_cast<size_t>(r) * t.k]);
    return out;
}

std::vector<float> rmsnorm(const std::vector<float>& x, const std::vector<float>& w, float eps) {
    double ss = 0;
    for (float v : x) ss += double(v) * v;
    const double r = 1.0 / std::sqrt(ss / x.size() + eps);
    std::vector<float> out(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = static_cast<float>(x[i] * r * w[i]);
    return out;
}

// BitNet linear: quantise the (already normalised) input (per token, per
// 256-value block, or not), then W . q scaled by the activation and weight
// scales.
std::vector<float> linear(const Ternary& w, const std::vector<float>& x, ActivationQuant quant) {
    std::vector<float> y(w.n);
    if (quant == ActivationQuant::none) {
        for (int n = 0; n < w.n; ++n) {
            double dot = 0;
            for (int k = 0; k < w.k; ++k)
                dot += w.w[static_cast<size_t>(n) * w.k + k] * double(x[k]);
            y[n] = static_cast<float>(dot * w.scale);
        }
        return y;
    }
    const int block = quant == ActivationQuant::per_block ? 256 : w.k;
    std::vector<int8_t> q(w.k);
    std::vector<float> s((w.k + block - 1) / block);
    for (int b = 0; b * block < w.k; ++b)
        quantize_row(&x[b * block], std::min(block, w.k - b * block), &q[b * block], &s[b]);
    for (int n = 0; n < w.n; ++n) {
        double sum = 0;
        for (int b = 0; b * block < w.k; ++b) {
            int64_t dot = 0;
            for (int k = b * block; k < std::min(w.k, (b + 1) * block); ++k)
                dot += int64_t(w.w[static_cast<size_t>(n) * w.k + k]) * q[k];
            sum += double(dot) * s[b];
        }
        y[n] = static_cast<float>(sum * w.scale);
    }
    return y;
}

}  // namespace

ActivationQuant parse_activation_quant(const std::string& name) {
    if (name == "per-token") return ActivationQuant::per_token;
    if (name == "per-block") return ActivationQuant::per_block;
    if (name == "none") return ActivationQuant::none;
    throw Error("activation quantisation '" + name +
                "' is not known (expected per-token, per-block or none)");
}

std::vector<float> forward(const gguf::File& f, const std::vector<int>& tokens, Activation act,
                           ActivationQuant quant, CacheType cache) {
    const ModelConfig c = model_config(f, act);
    const int E = c.n_embd, L = c.n_layer, H = c.n_head, HKV = c.n_head_kv, hd = c.head_dim;
    const int n_rot = c.n_rot, V = c.n_vocab;
    const float eps = c.rms_eps;
    const double theta = c.rope_theta;
    const bool neox = c.arch->rope == RopeStyle::neox;
    const gguf::TensorInfo& embd = f.tensor(kTokenEmbdTensor);
    const gguf::TensorInfo& head = f.tensor(c.head_tensor);
    const int T = static_cast<int>(tokens.size());

    Matrix x(T, std::vector<float>(E));
    for (int t = 0; t < T; ++t) gguf::decode_row(f, embd, tokens[t], x[t].data());

    for (int l = 0; l < L; ++l) {
        const Ternary wq = ternary(f, tensor_name(l, LayerTensor::attn_q)),
                      wk = ternary(f, tensor_name(l, LayerTensor::attn_k)),
                      wv = ternary(f, tensor_name(l, LayerTensor::attn_v)),
                      wo = ternary(f, tensor_name(l, LayerTensor::attn_output)),
                      wg = ternary(f, tensor_name(l, LayerTensor::ffn_gate)),
                      wu = ternary(f, tensor_name(l, LayerTensor::ffn_up)),
                      wd = ternary(f, tensor_name(l, LayerTensor::ffn_down));
        const auto attn_norm = vec(f, tensor_name(l, LayerTensor::attn_norm)),
                   ffn_norm = vec(f, tensor_name(l, LayerTensor::ffn_norm));
        // Without sub-norms (Llama) the input of attn_output and ffn_down is still
        // RMS-normalised before BitNet's quantisation, with unit weights.
        const auto attn_sub = c.arch->has(LayerTensor::attn_sub_norm)
                                  ? vec(f, tensor_name(l, LayerTensor::attn_sub_norm))
                                  : std::vector<float>(E, 1.0f);
        const auto ffn_sub = c.arch->has(LayerTensor::ffn_sub_norm)
                                 ? vec(f, tensor_name(l, LayerTensor::ffn_sub_norm))
                                 : std::vector<float>(c.n_ff, 1.0f);
        Matrix Q(T), K(T), Vv(T);
        for (int t = 0; t < T; ++t) {
            const auto xn = rmsnorm(x[t], attn_norm, eps);
            Q[t] = linear(wq, xn, quant);
            K[t] = linear(wk, xn, quant);
            Vv[t] = linear(wv, xn, quant);
            // RoPE at position t: pair i is dimensions (i, i + n_rot / 2) in NEOX
            // style, (2i, 2i + 1) interleaved.
            for (Matrix* m : {&Q, &K}) {
                std::vector<float>& r = (*m)[t];
                const int heads = static_cast<int>(r.size()) / hd;
                for (int h = 0; h < heads; ++h)
                    for (int i = 0; i < n_rot / 2; ++i) {
                        const double a = t * std::pow(theta, -2.0 * i / n_rot);
                        float& u = r[h * hd + (neox ? i : 2 * i)];
                        float& w = r[h * hd + (neox ? i + n_rot / 2 : 2 * i + 1)];
                        const double u0 = u, w0 = w;
                        u = static_cast<float>(u0 * std::cos(a) - w0 * std::sin(a));
                        w = static_cast<float>(u0 * std::sin(a) + w0 * std::cos(a));
                    }
            }
        }
        if (cache == CacheType::f16)
            for (Matrix* m : {&K, &Vv})
                for (std::vector<float>& row : *m)
                    for (float& v : row) v = gguf::f16_to_f32(kv_half(v));
        for (int t = 0; t < T; ++t) {
            std::vector<float> att(E);
            for (int h = 0; h < H; ++h) {
                const int kvh = h / (H / HKV);
                std::vector<double> s(t + 1);
                double mx = -1e300;
                for (int j = 0; j <= t; ++j) {
                    double d = 0;
                    for (int i = 0; i < hd; ++i) d += double(Q[t][h * hd + i]) * K[j][kvh * hd + i];
                    s[j] = d / std::sqrt(double(hd));
                    mx = std::max(mx, s[j]);
                }
                double sum = 0;
                for (double& v : s) sum += (v = std::exp(v - mx));
                for (int i = 0; i < hd; ++i) {
                    double o = 0;
                    for (int j = 0; j <= t; ++j) o += s[j] / sum * Vv[j][kvh * hd + i];
                    att[h * hd + i] = static_cast<float>(o);
                }
            }
            const auto o = linear(wo, rmsnorm(att, attn_sub, eps), quant);
            for (int i = 0; i < E; ++i) x[t][i] += o[i];
            const auto xn = rmsnorm(x[t], ffn_norm, eps);
            const auto g = linear(wg, xn, quant), u = linear(wu, xn, quant);
            std::vector<float> hidden(g.size());
            for (size_t i = 0; i < g.size(); ++i) {
                const double a = act == Activation::relu2 ? (g[i] > 0 ? double(g[i]) * g[i] : 0.0)
                                                          : g[i] / (1.0 + std::exp(-double(g[i])));
                hidden[i] = static_cast<float>(a * u[i]);
            }
            const auto d = linear(wd, rmsnorm(hidden, ffn_sub, eps), quant);
            for (int i = 0; i < E; ++i) x[t][i] += d[i];
        }
    }
    const auto out_norm = vec(f, kOutputNormTensor);
    std::vector<float> logits(static_cast<size_t>(T) * V);
    std::vector<float> row(E);
    for (int t = 0; t < T; ++t) {
        const auto xn = rmsnorm(x[t], out_norm, eps);
        for (int v = 0; v < V; ++v) {
            gguf::decode_row(f, head, v, row.data());
            double d = 0;
            for (int i = 0; i < E; ++i) d += double(row[i]) * xn[i];
            logits[static_cast<size_t>(t) * V + v] = static_cast<float>(d);
        }
    }
    return logits;
}

}  // namespace tern::ref
