#include "search.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "Halide.h"
#include "jit_kernel.h"
#include "tern/error.h"

namespace tern::tune {

Evaluator jit_evaluator(const Halide::Target& target) {
    return [target](const Candidate& c, Workload& workload, double batch_s, int reps) {
        Trial t;
        t.candidate = c;
        try {
            const JitKernel kernel(family_name(c.family), c.knobs, target, "candidate");
            const std::string wrong = workload.verify(kernel.info());
            if (!wrong.empty()) {
                t.status = "wrong result: " + wrong;
                return t;
            }
            const Timing timing = workload.time(kernel.info(), reps, batch_s);
            t.status = "ok";
            t.median_us = timing.median_us;
            t.spread_pct = timing.spread_pct;
        } catch (const Error& e) {
            t.status = e.what();
        }
        return t;
    };
}

SearchResult search(Workload& workload, const std::vector<Candidate>& pool,
                    const TargetInfo& target, const SearchOptions& options,
                    const Evaluator& evaluate, const ProgressFn& progress) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };

    // Exploration order: shuffle each family's candidates, then let families
    // take turns so every family is sampled early.
    std::mt19937 rng(options.seed);
    std::map<Family, std::vector<Candidate>> by_family;
    for (const Candidate& c : pool) by_family[c.family].push_back(c);
    for (auto& [f, list] : by_family) std::shuffle(list.begin(), list.end(), rng);
    std::vector<Candidate> order = options.seeds;
    for (size_t i = 0;; ++i) {
        bool any = false;
        for (auto& [f, list] : by_family) {
            if (i < list.size()) {
                order.push_back(list[i]);
                any = true;
            }
        }
        if (!any) break;
    }

    SearchResult result;
    std::set<std::string> tried, in_pool;
    for (const Candidate& c : pool) in_pool.insert(c.key());
    auto run = [&](const Candidate& c, const char* phase, double batch_s, int reps) {
        tried.insert(c.key());
        Trial t = evaluate(c, workload, batch_s, reps);
        t.at_s = elapsed();
        t.phase = phase;
        ++result.tried;
        if (t.status != "ok") ++result.rejected;
        result.trials.push_back(t);
        if (t.status == "ok" && (!result.best || t.median_us < result.timing.median_us)) {
            result.best = t.candidate;
            result.timing.median_us = t.median_us;
            result.timing.spread_pct = t.spread_pct;
        }
        if (progress) progress(t, result, std::max(0.0, options.budget_s - elapsed()));
        if (result.tried >= 20 && result.rejected == result.tried)
            throw Error("the first " + std::to_string(result.tried) +
                        " candidates all failed; last: " + t.status);
    };
    auto leaders = [&](size_t count) {
        std::vector<const Trial*> ok;
        for (const Trial& t : result.trials)
            if (t.status == "ok") ok.push_back(&t);
        std::sort(ok.begin(), ok.end(),
                  [](const Trial* a, const Trial* b) { return a->median_us < b->median_us; });
        std::vector<Candidate> out;
        std::set<std::string> seen;
        for (const Trial* t : ok) {
            if (out.size() == count) break;
            if (seen.insert(t->candidate.key()).second) out.push_back(t->candidate);
        }
        return out;
    };

    size_t next = 0;
    const double explore_until = 0.5 * options.budget_s, refine_until = 0.85 * options.budget_s;
    // At least one candidate per family, whatever the budget.
    while (next < order.size() && (elapsed() < explore_until || next < by_family.size())) {
        run(order[next++], "explore", options.quick_batch_s, 3);
    }
    while (elapsed() < refine_until) {
        bool stepped = false;
        for (const Candidate& leader : leaders(options.leaders)) {
            for (const Candidate& n : neighbours(leader, workload.problem().op, target)) {
                if (tried.count(n.key()) || !in_pool.count(n.key())) continue;
                run(n, "refine", options.quick_batch_s, 3);
                stepped = true;
                break;
            }
            if (stepped || elapsed() >= refine_until) break;
        }
        if (!stepped) {
            while (next < order.size() && tried.count(order[next].key())) ++next;
            if (next == order.size()) break;  // the whole space has been tried
            run(order[next++], "explore", options.quick_batch_s, 3);
        }
    }

    // The leaders again, longer: noise decides less among close candidates.
    // Finalists: the leaders and the seeds, measured in two rounds of opposite
    // order so that drift of the machine over the phase hits all of them alike;
    // each keeps the median of its two medians.
    std::vector<Candidate> finalists = leaders(options.leaders);
    for (const Candidate& seed : options.seeds) {
        bool present = false;
        for (const Candidate& f : finalists) present |= f.key() == seed.key();
        if (!present && tried.count(seed.key())) finalists.push_back(seed);
    }
    std::map<std::string, std::vector<Trial>> rounds;
    for (int round = 0; round < 2; ++round) {
        for (size_t i = 0; i < finalists.size(); ++i) {
            const Candidate& c = finalists[round == 0 ? i : finalists.size() - 1 - i];
            Trial t = evaluate(c, workload, options.final_batch_s, 5);
            t.at_s = elapsed();
            t.phase = "final";
            result.trials.push_back(t);
            rounds[c.key()].push_back(t);
            if (progress) progress(t, result, std::max(0.0, options.budget_s - elapsed()));
        }
    }
    result.best.reset();
    for (const Candidate& c : finalists) {
        const auto& trials = rounds[c.key()];
        if (trials.size() != 2 || trials[0].status != "ok" || trials[1].status != "ok") continue;
        const double median_us = 0.5 * (trials[0].median_us + trials[1].median_us);
        if (!result.best || median_us < result.timing.median_us) {
            result.best = c;
            result.timing.median_us = median_us;
            result.timing.spread_pct = std::max(trials[0].spread_pct, trials[1].spread_pct);
        }
    }
    return result;
}

}  // namespace tern::tune
