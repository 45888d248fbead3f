// Timing candidate GEMV kernels inside real decode steps of a model
// (tern-tune --in-model): each candidate runs one weight shape of every layer
// while the other calls of a token (the other shapes, norms, attention, the LM
// head) run around it, so the time per call includes what an isolated
// benchmark cannot see: caches and prefetch streams left by the neighbouring
// calls, the threads' hand-over between calls, and memory the rest of the
// token competes for.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tern/kernels.h"
#include "tern/model.h"

namespace tern::tune {

struct InModelTiming {
    double call_us = 0;     // median over rounds of the mean time per call of the shape
    double spread_pct = 0;  // (max - min) / median of those rounds, in percent
    double token_ms = 0;    // median over rounds of the mean decode step
};

class InModelBench {
public:
    // Loads the model on `bundle` (its weights packed for that bundle's
    // kernels) at `threads` threads.
    InModelBench(const std::string& model_path, int threads, const std::string& bundle);
    ~InModelBench();

    // Times each kernel as the single-row kernel of the model's k x n weights
    // (repacked when a kernel reads another layout): `rounds` rounds, each
    // running the kernels in turn (in alternating order) for `tokens` decode
    // steps after a warm-up. Kernel names must differ (the model times its
    // calls by name). Afterwards the model runs whichever was timed last: call
    // use() with the chosen one.
    std::vector<InModelTiming> time(int k, int n, const std::vector<const KernelInfo*>& kernels,
                                    int rounds, int tokens);
    // Times int8_gemv kernels of the head's layout as the model's LM head, as
    // time() does.
    std::vector<InModelTiming> time_head(const std::vector<const KernelInfo*>& kernels, int rounds,
                                         int tokens);
    // The int8_gemv kernel reading the model's LM head now.
    const KernelInfo& head_gemv() const;
    void use_head(const KernelInfo& kernel);
    // Runs the model's k x n weights on `kernel` from now on.
    void use(int k, int n, const KernelInfo& kernel);
    int threads() const { return threads_; }
    const KernelSet& bundle() const { return model_->backend().bundle(); }

private:
    // Times install(i) for each of `count` kernels by the model's time in
    // `part(i)` (its part and kernel), per call (`calls` per token).
    std::vector<InModelTiming> time_parts(size_t count, const std::function<void(size_t)>& install,
                                          const std::function<Model::Timing(size_t)>& part,
                                          int calls, int rounds, int tokens);
    int threads_;
    std::unique_ptr<Model> model_;
};

}  // namespace tern::tune
