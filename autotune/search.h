// Budgeted search over the candidates of one problem, across families.
//
// Exploration samples candidates at random, families taking turns; refinement
// walks one knob step from the current leaders; at the end the leaders are
// measured again, longer, and the best median wins. Every candidate is compiled
// with the JIT and verified exactly against the reference before it is timed; one
// that fails to compile or verify is recorded and never chosen.
#pragma once

#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "measure.h"
#include "search_space.h"

namespace Halide {
struct Target;
}

namespace tern::tune {

struct Trial {
    Candidate candidate;
    std::string status;  // "ok", or why it was rejected
    double median_us = 0;
    double spread_pct = 0;
    double at_s = 0;    // seconds since the search of this problem began
    std::string phase;  // "explore", "refine", "final"
};

struct SearchResult {
    std::optional<Candidate> best;
    Timing timing;
    int tried = 0;
    int rejected = 0;
    std::vector<Trial> trials;
};

struct SearchOptions {
    double budget_s = 60;
    uint32_t seed = 1;
    int leaders = 3;  // re-measured at the end
    double quick_batch_s = 0.02;
    double final_batch_s = 0.05;
    // Tried first and always re-measured at the end (the target's default
    // schedule), so noise cannot make the search return something it measured
    // slower than the default side by side.
    std::vector<Candidate> seeds;
};

// Called after every trial with the trial and the best so far.
using ProgressFn = std::function<void(const Trial&, const SearchResult&, double budget_left_s)>;

// Compiles, verifies and times a candidate; replaceable for tests.
using Evaluator = std::function<Trial(const Candidate&, Workload&, double batch_s, int reps)>;
Evaluator jit_evaluator(const Halide::Target& target);

SearchResult search(Workload& workload, const std::vector<Candidate>& pool,
                    const TargetInfo& target, const SearchOptions& options,
                    const Evaluator& evaluate, const ProgressFn& progress);

}  // namespace tern::tune
