// See output_head.h.
#include "model/output_head.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>

#include "kernels/vector_loops.h"
#include "tern/error.h"
#include "tern/gguf_tensors.h"
#include "tern/kernels.h"
#include "tern/reference.h"

namespace tern {
namespace {

using gguf::TensorInfo;
using gguf::TensorType;

// The file's rows as they are: F16 rows by f16_gemv in chunks that stay in cache
// while every row passes, other types decoded row by row. F16 rows are copied
// into tern's own memory (huge pages, as the ternary weights) and their file
// pages released: streamed from the file's 4 KiB pages the head read at 11.4
// GB/s against 15 for the ternary weights (2B4T, one thread, Intel Xeon guest).
class FileHead final : public OutputHead {
public:
    FileHead(const Backend& backend, const gguf::File& file, const TensorInfo& rows, int n_vocab,
             int n_embd)
        : backend_(backend), file_(file), rows_(rows), V_(n_vocab), E_(n_embd) {
        if (rows_.type != TensorType::f16) return;
        f16_ = AlignedBytes(rows_.bytes);
        const uint64_t piece = uint64_t{4} << 20;
        const int pieces = static_cast<int>((rows_.bytes + piece - 1) / piece);
        backend_.parallel_for(pieces, [&](int i) {
            const uint64_t at = piece * static_cast<uint64_t>(i);
            const uint64_t n = std::min(piece, rows_.bytes - at);
            std::memcpy(f16_.data() + at, rows_.data + at, n);
            file_.release(rows_.data + at, n);
        });
    }
    LmHead kind() const override { return LmHead::file; }
    uint64_t packed_bytes() const override { return f16_.size(); }
    std::vector<Region> regions() const override {
        if (f16_.size() > 0) return {{f16_.data(), f16_.size()}};
        return {{rows_.data, rows_.bytes}};
    }
    uint64_t bytes_per_token() const override { return f16_.size() > 0 ? 0 : rows_.bytes; }

    void logits(const float* xn, int m, float* out) const override {
        const int chunk = 256, E = E_;
        const size_t V = static_cast<size_t>(V_);
        if (rows_.type == TensorType::f16) {
            const auto* weights = reinterpret_cast<const uint16_t*>(f16_.data());
            backend_.parallel_for((V_ + chunk - 1) / chunk, [&](int c) {
                const int end = std::min(V_, (c + 1) * chunk);
                for (int r = 0; r < m; ++r)
                    backend_.vector_loops().f16_gemv(weights + static_cast<size_t>(c) * chunk * E,
                                                     end - c * chunk, E,
                                                     xn + static_cast<size_t>(r) * E,
                                                     out + r * V + static_cast<size_t>(c) * chunk);
            });
            return;
        }
        backend_.parallel_for((V_ + chunk - 1) / chunk, [&](int c) {
            std::vector<float> row(E);
            for (int v = c * chunk; v < std::min(V_, (c + 1) * chunk); ++v) {
                gguf::decode_row(file_, rows_, v, row.data());
                for (int r = 0; r < m; ++r)
                    out[r * V + v] =
                        backend_.vector_loops().dot(row.data(), xn + static_cast<size_t>(r) * E, E);
            }
        });
    }

private:
    const Backend& backend_;
    const gguf::File& file_;
    const TensorInfo& rows_;
    int V_, E_;
    AlignedBytes f16_;  // the F16 rows, copied from the file
};

// Decodes every row of the file's head in parallel chunks, hands each to
// `set_row` (float row in, quantised into the head), and releases each chunk's
// file pages once converted, so that the two copies never sit in memory together.
void convert_rows(const Backend& backend, const gguf::File& file, const TensorInfo& rows, int V,
                  int E, const std::function<void(int row, const float* values)>& set_row) {
    const int chunk = 1024;
    const uint64_t row_bytes = rows.bytes / V;
    std::atomic<int> bad_row{-1};  // a row with a non-finite value (reported below)
    backend.parallel_for((V + chunk - 1) / chunk, [&](int c) {
        std::vector<float> row(E);
        const int end = std::min(V, (c + 1) * chunk);
        for (int v = c * chunk; v < end; ++v) {
            gguf::decode_row(file, rows, v, row.data());
            bool finite = true;
            for (int i = 0; i < E; ++i) finite &= std::isfinite(row[i]);
            if (!finite) {
                bad_row = v;
                continue;
            }
            set_row(v, row.data());
        }
        file.release(rows.data + row_bytes * c * chunk, row_bytes * (end - c * chunk));
    });
    if (bad_row < 0) return;
    // Weights must be finite: quantising a NaN or infinity is undefined.
    std::vector<float> row(E);
    gguf::decode_row(file, rows, bad_row, row.data());
    for (int i = 0; i < E; ++i)
        if (!std::isfinite(row[i]))
            throw Error(file.path() + ": tensor '" + rows.name + "' row " +
                        std::to_string(bad_row.load()) + " column " + std::to_string(i) +
                        " holds " + std::to_string(row[i]) + "; weights must be finite numbers");
}

// Logits through a quantised head's kernel: the activation rows quantised to
// int8 with per-row scales, as the int8 and int4 head kernels read them.
template <typename Rows>
void quantized_logits(const Rows& rows,
                      void (*gemm)(const Rows&, const int8_t*, const float*, int, float*),
                      const float* xn, int m, float* out) {
    const int E = rows.k();
    std::vector<int8_t> q(static_cast<size_t>(m) * E);
    std::vector<float> s(m);
    for (int r = 0; r < m; ++r)
        ref::quantize_row(xn + static_cast<size_t>(r) * E, E, &q[static_cast<size_t>(r) * E],
                          &s[r]);
    gemm(rows, q.data(), s.data(), m, out);
}

class Int8Head final : public OutputHead {
public:
    Int8Head(const Backend& backend, const gguf::File& file, const TensorInfo& rows, int V, int E)
        : head_(backend.bundle().kernel("int8_gemv"), V, E) {
        convert_rows(backend, file, rows, V, E, [&](int v, const float* x) {
            thread_local std::vector<int8_t> q;  // one per converting thread, not per row
            q.resize(E);
            float scale;
            ref::quantize_row(x, E, q.data(), &scale);
            head_.set_row(v, q.data(), scale);
        });
    }
    LmHead kind() const override { return LmHead::int8; }
    uint64_t packed_bytes() const override { return head_.bytes(); }
    // The per-row scales (0.5 MB for 2B4T) are left out of the read bound.
    std::vector<Region> regions() const override {
        return {{head_.packed().data(), head_.packed().size()}};
    }
    uint64_t bytes_per_token() const override { return 0; }
    void logits(const float* xn, int m, float* out) const override {
        quantized_logits(head_, int8_gemm, xn, m, out);
    }
    void use_kernel(const KernelInfo& kernel) override { head_.set_kernel(kernel); }

private:
    Int8Rows head_;
};

class Int4Head final : public OutputHead {
public:
    Int4Head(const Backend& backend, const gguf::File& file, const TensorInfo& rows, int V, int E)
        : head_(backend.bundle().kernel("int4_gemv"), V, check_width(file, E)) {
        convert_rows(backend, file, rows, V, E, [&](int v, const float* x) {
            thread_local std::vector<int8_t> q;  // one per converting thread, not per row
            thread_local std::vector<uint16_t> group_scales;
            q.resize(E);
            group_scales.resize(E / ref::kInt4Group + 1);
            ref::quantize_row_int4(x, E, q.data(), group_scales.data());
            head_.set_row(v, q.data(), group_scales.data());
        });
    }
    LmHead kind() const override { return LmHead::int4; }
    uint64_t packed_bytes() const override { return head_.bytes(); }
    std::vector<Region> regions() const override {
        return {{head_.packed().data(), head_.packed().size()},
                {head_.scales().data(), head_.scales().size()}};
    }
    uint64_t bytes_per_token() const override { return 0; }
    void logits(const float* xn, int m, float* out) const override {
        quantized_logits(head_, int4_gemm, xn, m, out);
    }

private:
    static int check_width(const gguf::File& file, int E) {
        if (E % ref::kInt4Group != 0)
            throw Error(file.path() + ": --lm-head int4 needs an embedding width that is a " +
                        "multiple of " + std::to_string(ref::kInt4Group) + ", got " +
                        std::to_string(E));
        return E;
    }
    Int4Rows head_;
};

}  // namespace

void OutputHead::use_kernel(const KernelInfo&) {
    throw Error(std::string("use_head_gemv: the LM head is ") + lm_head_name(kind()) +
                ", not int8");
}

uint64_t OutputHead::bytes_made_at_load(LmHead kind, const TensorInfo& rows, int n_vocab,
                                        int n_embd) {
    const uint64_t values = uint64_t(n_vocab) * n_embd;
    if (kind == LmHead::int8) return values + 4 * uint64_t(n_vocab);  // values, row scales
    if (kind == LmHead::int4) return values / 2 + values / ref::kInt4Group * 2;  // + F16 scales
    // The file head copies F16 rows (FileHead) and reads other types in place.
    return rows.type == TensorType::f16 ? rows.bytes : 0;
}

std::unique_ptr<OutputHead> OutputHead::make(LmHead kind, const Backend& backend,
                                             const gguf::File& file, const TensorInfo& rows,
                                             int n_vocab, int n_embd) {
    switch (kind) {
        case LmHead::int8:
            return std::make_unique<Int8Head>(backend, file, rows, n_vocab, n_embd);
        case LmHead::int4:
            return std::make_unique<Int4Head>(backend, file, rows, n_vocab, n_embd);
        case LmHead::file:
            break;
    }
    return std::make_unique<FileHead>(backend, file, rows, n_vocab, n_embd);
}

}  // namespace tern
