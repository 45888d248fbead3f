#include "in_model.h"

#include <algorithm>
#include <chrono>

#include "model/kernel_overrides.h"
#include "tern/error.h"
#include "tern/model.h"

namespace tern::tune {

InModelBench::InModelBench(const std::string& model_path, int threads, const std::string& bundle)
    : threads_(threads) {
    ModelOptions o;
    o.threads = threads;
    o.bundle = bundle;
    o.n_ctx = 256;  // decode steps at short context: attention stays a small part
    model_ = Model::load(model_path, o);
}

InModelBench::~InModelBench() = default;

void InModelBench::use(int k, int n, const KernelInfo& kernel) {
    KernelOverrides::use_gemv(*model_, k, n, kernel);
}

std::vector<InModelTiming> InModelBench::time(int k, int n,
                                              const std::vector<const KernelInfo*>& kernels,
                                              int rounds, int tokens) {
    int stacks = 0;  // calls of the shape per token
    for (const Model::LinearChoice& l : model_->linear_choices()) stacks += l.k == k && l.n == n;
    if (stacks == 0)
        throw Error("in-model timing: the model has no " + std::to_string(k) + " x " +
                    std::to_string(n) + " ternary weights");
    for (size_t i = 0; i < kernels.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (kernels[i]->name == kernels[j]->name)
                throw Error("in-model timing: two kernels named " + kernels[i]->name);
    return time_parts(
        kernels.size(), [&](size_t i) { KernelOverrides::use_gemv(*model_, k, n, *kernels[i]); },
        [&](size_t i) {
            return Model::Timing{Model::Part::ternary, kernels[i]};
        },
        stacks * model_->config().n_layer, rounds, tokens);
}

std::vector<InModelTiming> InModelBench::time_head(const std::vector<const KernelInfo*>& kernels,
                                                   int rounds, int tokens) {
    return time_parts(
        kernels.size(), [&](size_t i) { KernelOverrides::use_head_gemv(*model_, *kernels[i]); },
        [](size_t) { return Model::Timing{Model::Part::lm_head}; }, 1, rounds, tokens);
}

const KernelInfo& InModelBench::head_gemv() const {
    return model_->backend().bundle().kernel("int8_gemv");
}

void InModelBench::use_head(const KernelInfo& kernel) {
    KernelOverrides::use_head_gemv(*model_, kernel);
}

std::vector<InModelTiming> InModelBench::time_parts(
    size_t count, const std::function<void(size_t)>& install,
    const std::function<Model::Timing(size_t)>& part, int calls, int rounds, int tokens) {
    const int vocab = model_->config().n_vocab;
    std::vector<std::vector<double>> call_us(count), token_ms(count);
    for (int round = 0; round < rounds; ++round) {
        for (size_t j = 0; j < count; ++j) {
            // Alternating order: no kernel always follows the same one.
            const size_t i = round % 2 == 0 ? j : count - 1 - j;
            install(i);
            model_->reset();
            for (int t = 0; t < 3; ++t) model_->eval({(17 * t + 1) % vocab});  // warm-up
            model_->clear_timings();
            const auto start = std::chrono::steady_clock::now();
            for (int t = 0; t < tokens; ++t) model_->eval({(31 * t + 5) % vocab});
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            double in_part = 0;
            for (const Model::Timing& p : model_->timings())
                if (p.part == part(i).part && p.kernel == part(i).kernel) in_part += p.seconds;
            call_us[i].push_back(in_part / (static_cast<double>(tokens) * calls) * 1e6);
            token_ms[i].push_back(seconds / tokens * 1e3);
        }
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    std::vector<InModelTiming> out(count);
    for (size_t i = 0; i < count; ++i) {
        out[i].call_us = median(call_us[i]);
        const auto [lo, hi] = std::minmax_element(call_us[i].begin(), call_us[i].end());
        out[i].spread_pct = 100.0 * (*hi - *lo) / out[i].call_us;
        out[i].token_ms = median(token_ms[i]);
    }
    return out;
}

}  // namespace tern::tune
