#include "tern/sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <numeric>

#include "tern/error.h"

namespace tern {

Sampler::Sampler(const SamplerOptions& options) : o_(options), rng_(options.seed) {
    if (o_.temperature < 0) throw Error("temperature must be at least 0");
    if (o_.top_k < 0) throw Error("top-k must be at least 0");
    if (!(o_.top_p > 0 && o_.top_p <= 1)) throw Error("top-p must be in (0, 1]");
    if (o_.repeat_penalty <= 0) throw Error("repeat penalty must be positive");
    if (o_.repeat_last_n < 0) throw Error("repeat-last-n must be at least 0");
    if (!(std::fabs(o_.presence_penalty) <= 2) || !(std::fabs(o_.frequency_penalty) <= 2))
        throw Error("presence and frequency penalties must be within [-2, 2]");
}

int Sampler::sample(std::vector<float>& logits, const std::vector<int>& recent) {
    // A damaged model can produce NaN or infinite logits: NaN never wins and
    // infinities become the largest finite values, so that the ordering and the
    // probabilities below stay defined.
    for (float& l : logits)
        if (!std::isfinite(l)) l = l > 0 ? FLT_MAX : -FLT_MAX;
    if (o_.repeat_penalty != 1.0f || o_.presence_penalty != 0.0f || o_.frequency_penalty != 0.0f) {
        const size_t from =
            recent.size() > size_t(o_.repeat_last_n) ? recent.size() - o_.repeat_last_n : 0;
        std::map<int, int> seen;
        for (size_t i = from; i < recent.size(); ++i) ++seen[recent[i]];
        for (const auto& [t, count] : seen) {
            if (t < 0 || t >= static_cast<int>(logits.size())) continue;
            float& l = logits[t];
            l = l > 0 ? l / o_.repeat_penalty : l * o_.repeat_penalty;
            l -= o_.presence_penalty + o_.frequency_penalty * static_cast<float>(count);
        }
    }
    if (o_.temperature == 0.0f)
        return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());

    std::vector<int> idx(logits.size());
    std::iota(idx.begin(), idx.end(), 0);
    const size_t k = o_.top_k > 0 ? std::min<size_t>(o_.top_k, idx.size()) : idx.size();
    std::partial_sort(
        idx.begin(), idx.begin() + static_cast<long>(k), idx.end(),
        [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    idx.resize(k);
    std::vector<double> p(k);
    const double mx = logits[idx[0]];
    double sum = 0;
    for (size_t i = 0; i < k; ++i) sum += (p[i] = std::exp((logits[idx[i]] - mx) / o_.temperature));
    // Smallest prefix whose probability reaches top_p.
    size_t keep = k;
    double acc = 0;
    for (size_t i = 0; i < k; ++i) {
        acc += p[i] / sum;
        if (acc >= o_.top_p) {
            keep = i + 1;
            break;
        }
    }
    std::discrete_distribution<size_t> pick(p.begin(), p.begin() + static_cast<long>(keep));
    return idx[pick(rng_)];
}

}  // namespace tern
