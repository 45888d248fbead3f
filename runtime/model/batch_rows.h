// A batch as the model evaluates it (internal to the runtime): validated,
// flattened into rows (each row's token, sequence slot and position), cut into
// chunks of at most ubatch rows, and the wanted rows' logits scattered back to
// the batch's entries.
#pragma once

#include <vector>

#include "tern/model.h"

namespace tern {

// The rows one forward pass evaluates (a batch, or a chunk of it).
struct Rows {
    const int* token;
    const int* slot;
    const int* pos;
    int m;
};

class BatchRows {
public:
    // Throws tern::Error ("eval: ...") for an empty batch, a sequence outside
    // [0, n_seq) or twice in it, an entry without tokens, tokens past the
    // context (seq_pos: tokens in each slot's cache) or outside the vocabulary.
    BatchRows(const std::vector<Model::Batch>& batch, const std::vector<int>& seq_pos, int n_ctx,
              int n_vocab);

    int rows() const { return static_cast<int>(token_.size()); }
    // The rows [first, first + m).
    Rows chunk(int first, int m) const { return {&token_[first], &slot_[first], &pos_[first], m}; }
    // The rows whose logits are wanted (each entry's last, or all of its).
    size_t wanted() const { return wanted_.size(); }
    // Those among rows [first, first + m), as rows of that chunk; *index is the
    // first one's place among all wanted rows.
    std::vector<int> wanted_in(int first, int m, size_t* index) const;
    // The wanted rows' logits (wanted() x n_vocab) as each entry's output.
    std::vector<std::vector<float>> scatter(const std::vector<float>& logits, int n_vocab) const;

private:
    std::vector<int> token_, slot_, pos_;  // per row
    std::vector<int> wanted_;              // rows, ascending
    std::vector<size_t> first_wanted_;     // per entry: its first in wanted_
};

}  // namespace tern
