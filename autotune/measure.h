// Verifying and timing one kernel on one tuning problem.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "search_space.h"
#include "tern/kernels.h"
#include "tern/ternary.h"

namespace tern::tune {

// One kernel x shape x threads to tune.
struct Problem {
    Op op;
    int k, n;
    int m_rows;  // 1 for GEMV
    int threads;
    std::string key() const;  // "gemv 2560x6912 t1"
};

struct Timing {
    double median_us = 0;
    double spread_pct = 0;  // (max - min) / median of the repetitions, in percent
    std::vector<double> samples_us;
};

// The data a problem is measured on, shared by all its candidates: a random
// ternary matrix, activations and the reference output; for GEMV also enough
// distinct copies of the packed weights to stream stream_bytes from memory.
class Workload {
public:
    Workload(const Problem& p, size_t stream_bytes);
    const Problem& problem() const { return problem_; }

    // Exact comparison of kernel's output with the reference; returns an empty
    // string when equal, else what differed.
    std::string verify(const KernelInfo& kernel);
    // Median and spread of `repetitions` timed batches of at least min_batch_s each.
    Timing time(const KernelInfo& kernel, int repetitions, double min_batch_s);

private:
    const std::vector<PackedMatrix>& packed_for(const KernelInfo& kernel);

    Problem problem_;
    size_t stream_bytes_;
    TernaryMatrix w_;
    std::vector<int8_t> q_;
    std::vector<float> q_scale_, y_, y_ref_;
    std::string layout_key_;
    std::vector<PackedMatrix> packed_;
};

}  // namespace tern::tune
