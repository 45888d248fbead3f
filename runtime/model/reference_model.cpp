// See tern/reference_model.h. Written for clarity: every step is the textbook
// formula over whole matrices.
#include "tern/reference_model.h"

#include <algorithm>
#include <cmath>
#include <optional>
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

namespace {

// y = RMSNorm(x) with weights w, or x itself without a norm.
std::vector<float> maybe_norm(const gguf::File& f, int l, std::optional<LayerTensor> norm,
                              const std::vector<float>& x, float eps) {
    return norm ? rmsnorm(x, vec(f, tensor_name(l, *norm)), eps) : x;
}

// RMSNorm of each head of a row (hd values each).
void norm_heads(std::vector<float>& r, const std::vector<float>& w, int hd, float eps) {
    for (size_t h = 0; h * hd < r.size(); ++h) {
        const std::vector<float> head(r.begin() + h * hd, r.begin() + (h + 1) * hd);
        const std::vector<float> n = rmsnorm(head, w, eps);
        std::copy(n.begin(), n.end(), r.begin() + h * hd);
    }
}

}  // namespace

std::vector<float> hidden_states(const gguf::File& f, const std::vector<int>& tokens,
                                 Activation act, ActivationQuant quant, CacheType cache) {
    const ModelConfig c = model_config(f, act);
    const Architecture& arch = *c.arch;
    const int E = c.n_embd, L = c.n_layer, H = c.n_head, HKV = c.n_head_kv, hd = c.head_dim;
    const int n_rot = c.n_rot;
    const float eps = c.rms_eps;
    const bool neox = arch.rope == RopeStyle::neox;
    const gguf::TensorInfo& embd = f.tensor(kTokenEmbdTensor);
    const int T = static_cast<int>(tokens.size());

    Matrix x(T, std::vector<float>(E));
    for (int t = 0; t < T; ++t) {
        gguf::decode_row(f, embd, tokens[t], x[t].data());
        if (arch.embedding_scaled)
            for (float& v : x[t]) v = static_cast<float>(v * std::sqrt(double(E)));
    }

    for (int l = 0; l < L; ++l) {
        // Each stack: its matrices and the weights of its input's norm (ones
        // without one: Llama's missing sub-norms).
        struct Stack {
            std::vector<Ternary> w;
            std::vector<float> norm;
        };
        std::vector<Stack> stacks;
        for (const LinearStack& s : arch.stacks) {
            Stack st;
            for (LayerTensor t : s.tensors) st.w.push_back(ternary(f, tensor_name(l, t)));
            st.norm =
                s.norm ? vec(f, tensor_name(l, *s.norm)) : std::vector<float>(st.w.front().k, 1.0f);
            stacks.push_back(std::move(st));
        }
        // The outputs of a stage's matrices for one row, by tensor.
        auto stage = [&](Stage which, const std::vector<float>& in) {
            std::vector<std::pair<LayerTensor, std::vector<float>>> out;
            for (size_t s = 0; s < arch.stacks.size(); ++s) {
                if (arch.stacks[s].stage != which) continue;
                const std::vector<float> xn = rmsnorm(in, stacks[s].norm, eps);
                for (size_t i = 0; i < stacks[s].w.size(); ++i)
                    out.emplace_back(arch.stacks[s].tensors[i], linear(stacks[s].w[i], xn, quant));
            }
            return out;
        };
        auto output = [](const std::vector<std::pair<LayerTensor, std::vector<float>>>& outs,
                         LayerTensor t) {
            for (const auto& o : outs)
                if (o.first == t) return o.second;
            throw Error(std::string("reference: no output ") + layer_tensor_key(t));
        };
        Matrix Q(T), K(T), Vv(T);
        const double theta = c.layer_rope_theta(l);
        for (int t = 0; t < T; ++t) {
            const auto outs =
                stage(Stage::attn_in, maybe_norm(f, l, arch.attn_block_norm, x[t], eps));
            Q[t] = output(outs, LayerTensor::attn_q);
            K[t] = output(outs, LayerTensor::attn_k);
            Vv[t] = output(outs, LayerTensor::attn_v);
            if (arch.q_head_norm)
                norm_heads(Q[t], vec(f, tensor_name(l, *arch.q_head_norm)), hd, eps);
            if (arch.k_head_norm)
                norm_heads(K[t], vec(f, tensor_name(l, *arch.k_head_norm)), hd, eps);
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
            // Causal; a local layer sees the last n_swa positions only.
            const int first = c.is_local(l) ? std::max(0, t + 1 - c.n_swa) : 0;
            std::vector<float> att(static_cast<size_t>(H) * hd);
            for (int h = 0; h < H; ++h) {
                const int kvh = h / (H / HKV);
                std::vector<double> s(t + 1);
                double mx = -1e300;
                for (int j = first; j <= t; ++j) {
                    double d = 0;
                    for (int i = 0; i < hd; ++i) d += double(Q[t][h * hd + i]) * K[j][kvh * hd + i];
                    s[j] = d * c.attn_scale;
                    mx = std::max(mx, s[j]);
                }
                double sum = 0;
                for (int j = first; j <= t; ++j) sum += (s[j] = std::exp(s[j] - mx));
                for (int i = 0; i < hd; ++i) {
                    double o = 0;
                    for (int j = first; j <= t; ++j) o += s[j] / sum * Vv[j][kvh * hd + i];
                    att[h * hd + i] = static_cast<float>(o);
                }
            }
            auto add = [&](std::vector<float> out, std::optional<LayerTensor> post) {
                out = maybe_norm(f, l, post, out, eps);
                for (int i = 0; i < E; ++i) x[t][i] += out[i];
            };
            add(output(stage(Stage::attn_out, att), LayerTensor::attn_output), arch.attn_post_norm);
            const auto ffn = stage(Stage::ffn_in, maybe_norm(f, l, arch.ffn_block_norm, x[t], eps));
            const auto g = output(ffn, LayerTensor::ffn_gate), u = output(ffn, LayerTensor::ffn_up);
            std::vector<float> hidden(g.size());
            for (size_t i = 0; i < g.size(); ++i)
                hidden[i] = static_cast<float>(gate_activation(act, g[i]) * u[i]);
            add(output(stage(Stage::ffn_out, hidden), LayerTensor::ffn_down), arch.ffn_post_norm);
        }
    }
    const auto out_norm = vec(f, kOutputNormTensor);
    std::vector<float> out(static_cast<size_t>(T) * E);
    for (int t = 0; t < T; ++t) {
        const auto xn = rmsnorm(x[t], out_norm, eps);
        std::copy(xn.begin(), xn.end(), out.begin() + static_cast<size_t>(t) * E);
    }
    return out;
}

std::vector<float> forward(const gguf::File& f, const std::vector<int>& tokens, Activation act,
                           ActivationQuant quant, CacheType cache) {
    const ModelConfig c = model_config(f, act);
    const int E = c.n_embd, V = c.n_vocab, T = static_cast<int>(tokens.size());
    const gguf::TensorInfo& head = f.tensor(c.head_tensor);
    const std::vector<float> xn = hidden_states(f, tokens, act, quant, cache);
    std::vector<float> logits(static_cast<size_t>(T) * V);
    std::vector<float> row(E);
    for (int v = 0; v < V; ++v) {
        gguf::decode_row(f, head, v, row.data());
        for (int t = 0; t < T; ++t) {
            double d = 0;
            for (int i = 0; i < E; ++i) d += double(row[i]) * xn[static_cast<size_t>(t) * E + i];
            logits[static_cast<size_t>(t) * V + v] = static_cast<float>(d);
        }
    }
    return logits;
}

std::vector<float> embedding(const gguf::File& f, const std::vector<int>& tokens, Pooling pooling,
                             bool normalize, ActivationQuant quant, CacheType cache) {
    const ModelConfig c = model_config(f);
    const int E = c.n_embd, T = static_cast<int>(tokens.size());
    const std::vector<float> xn = hidden_states(f, tokens, c.activation, quant, cache);
    std::vector<double> v(E, 0.0);
    for (int t = 0; t < T; ++t) {
        const bool take = pooling == Pooling::mean || (pooling == Pooling::cls && t == 0) ||
                          (pooling == Pooling::last && t == T - 1);
        if (take)
            for (int i = 0; i < E; ++i) v[i] += xn[static_cast<size_t>(t) * E + i];
    }
    if (pooling == Pooling::mean)
        for (double& e : v) e /= T;
    double ss = 0;
    for (double e : v) ss += e * e;
    const double inv = normalize && ss > 0 ? 1.0 / std::sqrt(ss) : 1.0;
    std::vector<float> out(E);
    for (int i = 0; i < E; ++i) out[i] = static_cast<float>(v[i] * inv);
    return out;
}

}  // namespace tern::ref
