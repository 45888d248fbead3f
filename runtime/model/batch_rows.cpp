// See batch_rows.h.
#include "model/batch_rows.h"

#include "tern/error.h"

namespace tern {

BatchRows::BatchRows(const std::vector<Model::Batch>& batch, const std::vector<int>& seq_pos,
                     int n_ctx, int n_vocab) {
    if (batch.empty()) throw Error("eval: no sequences");
    const int n_seq = static_cast<int>(seq_pos.size());
    for (size_t b = 0; b < batch.size(); ++b) {
        const Model::Batch& e = batch[b];
        if (e.seq < 0 || e.seq >= n_seq)
            throw Error("eval: sequence " + std::to_string(e.seq) + " is not one of the " +
                        std::to_string(n_seq) + " the model was loaded for");
        if (e.tokens.empty()) throw Error("eval: no tokens for sequence " + std::to_string(e.seq));
        for (size_t c = 0; c < b; ++c)
            if (batch[c].seq == e.seq)
                throw Error("eval: sequence " + std::to_string(e.seq) + " is in the batch twice");
        const int p = seq_pos[e.seq], m = static_cast<int>(e.tokens.size());
        if (p + m > n_ctx)
            throw Error("eval: " + std::to_string(m) + " tokens at position " + std::to_string(p) +
                        " exceed the context of " + std::to_string(n_ctx) + " (use a larger -c)");
        first_wanted_.push_back(wanted_.size());
        for (int t = 0; t < m; ++t) {
            if (e.tokens[t] < 0 || e.tokens[t] >= n_vocab)
                throw Error("eval: token id " + std::to_string(e.tokens[t]) +
                            " is outside the vocabulary of " + std::to_string(n_vocab));
            if (e.all_logits || t == m - 1) wanted_.push_back(rows());
            token_.push_back(e.tokens[t]);
            slot_.push_back(e.seq);
            pos_.push_back(p + t);
        }
    }
}

std::vector<int> BatchRows::wanted_in(int first, int m, size_t* index) const {
    size_t i = 0;
    while (i < wanted_.size() && wanted_[i] < first) ++i;
    *index = i;
    std::vector<int> out;
    for (; i < wanted_.size() && wanted_[i] < first + m; ++i) out.push_back(wanted_[i] - first);
    return out;
}

std::vector<std::vector<float>> BatchRows::scatter(const std::vector<float>& logits,
                                                   int n_vocab) const {
    std::vector<std::vector<float>> out(first_wanted_.size());
    for (size_t b = 0; b < out.size(); ++b) {
        const size_t end = b + 1 < out.size() ? first_wanted_[b + 1] : wanted_.size();
        out[b].assign(logits.begin() + first_wanted_[b] * n_vocab, logits.begin() + end * n_vocab);
    }
    return out;
}

}  // namespace tern
