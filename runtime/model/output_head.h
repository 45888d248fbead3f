// The LM head (output.weight, or the embedding when the file ties them) behind
// one interface (internal to the runtime): read at the file's precision, or as
// int8 rows with per-row scales, or as 4-bit rows with an F16 scale per 64
// values, both made at load. One factory chooses from --lm-head; nothing
// outside output_head.cpp branches on the head's kind.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tern/backend.h"
#include "tern/gguf.h"
#include "tern/model.h"

namespace tern {

class OutputHead {
public:
    // `rows` is the file's n_vocab x n_embd head tensor. The int8 and int4 heads
    // are made from it in chunks whose file pages are released as they go;
    // non-finite values are errors naming the tensor, row and column.
    // Its kernels and threads are the backend's.
    static std::unique_ptr<OutputHead> make(LmHead kind, const Backend& backend,
                                            const gguf::File& file, const gguf::TensorInfo& rows,
                                            int n_vocab, int n_embd);
    // About the bytes such a head makes at load from the file's `rows` (the
    // load-time memory check).
    static uint64_t bytes_made_at_load(LmHead kind, const gguf::TensorInfo& rows, int n_vocab,
                                       int n_embd);
    virtual ~OutputHead() = default;

    virtual LmHead kind() const = 0;
    // Logits of m rows (xn: m x n_embd, already normalised) into out (m x
    // n_vocab, row-major), reading the head once for all rows.
    virtual void logits(const float* xn, int m, float* out) const = 0;
    // The bytes a token reads (for the read bound).
    virtual std::vector<Region> regions() const = 0;
    // Bytes made at load (the file head copies F16 rows and reads other types in
    // place: 0).
    virtual uint64_t packed_bytes() const = 0;
    // File bytes a token reads besides packed_bytes() (the file head's rows).
    virtual uint64_t bytes_per_token() const = 0;
    // Reads the head with `kernel` from now on (tern-tune --in-model): the int8
    // head only, in the same layout; throws otherwise.
    virtual void use_kernel(const KernelInfo& kernel);
};

}  // namespace tern
