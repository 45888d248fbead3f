// The public kernel API: the kernel bundles linked into this binary, their
// kernels found by name, family or weight shape, called with plain pointers. Every call validates
// its arguments and throws tern::Error naming the argument and what was expected.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tern/bundle.h"
#include "tern/ternary.h"

namespace tern {

// A generated kernel: compiled into this build (ahead of time) or by the tuner
// (JIT). Both are called through Halide's argv entry point: an array of
// halide_buffer_t* for buffers and pointers to scalars, in generator order.
struct KernelInfo {
    using Entry = int (*)(void** args);

    std::string name;              // e.g. "tmad_gemv"
    Family family = Family::tmad;  // its generator
    std::map<std::string, int> knobs;
    Entry entry = nullptr;
    // The problem a tuned kernel was tuned for; op is empty for generic kernels.
    std::string op;
    int k = 0, n = 0, m = 0, threads = 0;

    bool is_ternary() const { return is_ternary_family(family); }
    Family ternary_family() const;            // family; throws unless is_ternary()
    int knob(const std::string& name) const;  // throws if the kernel has no such knob
    int m_tile() const { return knob("m_tile"); }
    // The weight layout this kernel reads (ternary kernels only).
    Layout layout() const;
};

// The kernels to use for one weight matrix: one packed layout, read by the GEMV
// kernel (one activation row, token generation) and by the GEMM kernel (prompt
// processing), so the weights are packed once.
struct LinearPlan {
    Layout layout;
    const KernelInfo* gemv = nullptr;
    const KernelInfo* gemm = nullptr;
    // GEMM kernels tuned for a few rows (a serving step's sequences, m <=
    // kBatchRows) reading the same layout, smallest m first.
    std::vector<const KernelInfo*> batch;
    static constexpr int kBatchRows = 16;
    const KernelInfo& for_rows(int m_rows) const {
        if (m_rows > 1 && m_rows <= kBatchRows) {
            // The batch kernel tuned nearest m_rows that it can run.
            const KernelInfo* best = nullptr;
            for (const KernelInfo* k : batch)
                if (k->m_tile() <= m_rows &&
                    (!best || std::abs(k->m - m_rows) < std::abs(best->m - m_rows)))
                    best = k;
            if (best) return *best;
        }
        return m_rows >= gemm->m_tile() ? *gemm : *gemv;
    }
};

// One bundle as the runtime sees it.
class KernelSet {
public:
    explicit KernelSet(const BundleManifest& manifest);

    const BundleManifest& manifest() const { return *manifest_; }
    std::string target() const { return manifest_->target; }
    // CPU features (or architecture) this machine lacks to run the bundle.
    std::vector<std::string> missing_features() const;
    bool runs_here() const { return missing_features().empty(); }

    const std::vector<KernelInfo>& kernels() const { return kernels_; }
    const KernelInfo& kernel(const std::string& name) const;
    // The generic kernel of family f for m_rows activation rows: the GEMM
    // instance with the largest row tile that fits, else the GEMV instance.
    const KernelInfo& kernel_for(Family f, int m_rows) const;
    // For a K x N weight matrix at `threads` threads: the GEMV kernel tuned for
    // that shape (the one tuned at the nearest thread count) if some GEMM
    // kernel reads its layout, else the generic tmad GEMV; then the GEMM kernel tuned for the shape
    // if it reads the same layout, else a generic one that does, else the GEMV kernel. Layouts that
    // differ only in K alignment count as the same: the plan's layout pads K
    // to a multiple of both.
    // With a forced weight format, only kernels reading that format count, and
    // the generic fallback is the tmad GEMV of that format (an error if the
    // bundle has none).
    LinearPlan plan_linear(int k, int n, int threads,
                           WeightFormat format = WeightFormat::tuned) const;

private:
    const BundleManifest* manifest_;
    std::vector<KernelInfo> kernels_;
};

// Every bundle linked into this binary, the most capable first.
const std::vector<KernelSet>& bundles();
const KernelSet& bundle(const std::string& target);
// bundle(target), or an error if this CPU cannot run it (listing what it lacks).
const KernelSet& runnable_bundle(const std::string& target);
// The bundle a Backend uses unless told otherwise: the one the environment
// variable TERN_BUNDLE names (an error if it is not linked in or this CPU
// cannot run it), else the first of bundles() this CPU can run. Decided once.
const KernelSet& default_bundle();

// For LM head rows packed for `kernel`: the kernel named `name` in the same bundle
// that reads the same rows (same family, lanes and dot), else `kernel` itself.
const KernelInfo& head_batch_kernel(const KernelInfo& kernel, const std::string& name);

// True if `kernel` (a ternary kernel) reads weights packed as w is: the same
// family, lanes and group, and w's K padding a multiple of the kernel's.
bool can_read(const KernelInfo& kernel, const PackedMatrix& w);

// Threads of the default pool (0: every core): the kernels below run their
// parallel loops there unless a Backend::Scope on the calling thread binds
// that backend's threads.
void set_num_threads(int threads);

// y[m * w.n + n] = w.scale * q_scale[m] * sum_k W(n, k) * q[m * w.k + k], for
// m < m_rows. q rows have w.k values (unpadded); w must be packed in kernel's
// layout; m_rows must be at least the kernel's m_tile.
void ternary_linear(const KernelInfo& kernel, const PackedMatrix& w, const int8_t* q,
                    const float* q_scale, int m_rows, float* y);

// Fused RMSNorm + int8 quantiser over m_rows rows of k floats, by a bundle's
// rmsnorm_quant kernel; same definition as ref::rmsnorm_quantize.
void rmsnorm_quantize(const KernelInfo& kernel, const float* x, const float* weight, int k,
                      int m_rows, float eps, int8_t* q, float* scale);

// int8 weight rows with one scale per row (the LM head), in the layout of one
// int8_gemv kernel (see int8_gemv_generator.cpp): rows in tiles of the kernel's
// lanes, each tile a sequential stream of k-groups. Rows are set one at a time,
// so a caller converting rows from a file never holds a second full copy.
class Int8Rows {
public:
    Int8Rows() = default;
    // n rows of k values, all zero; k must be a positive multiple of 4 and n positive.
    Int8Rows(const KernelInfo& kernel, int n, int k);
    void set_row(int row, const int8_t* w, float scale);
    int8_t get(int row, int col) const;  // W(row, col), for tests
    int n() const { return n_; }
    int k() const { return k_; }
    int n_pad() const { return n_pad_; }  // n rounded up to whole tiles
    size_t bytes() const { return data_.size() + 4 * scale_.size(); }
    const AlignedBytes& packed() const { return data_; }  // what the kernel streams
    const KernelInfo& kernel() const { return *kernel_; }
    // Reads the rows with another int8_gemv kernel of the same layout (lanes and
    // dot); throws if its layout differs. For several rows the batch kernel
    // stays. `kernel` must outlive its use here.
    void set_kernel(const KernelInfo& kernel);

private:
    friend void int8_gemm(const Int8Rows&, const int8_t*, const float*, int, float*);
    size_t offset(int row, int col) const;
    const KernelInfo* kernel_ = nullptr;
    // For several activation rows: the int8_gemm kernel of kernel_'s bundle that
    // reads the same layout (same lanes and dot), else kernel_.
    const KernelInfo* batch_kernel_ = nullptr;
    int n_ = 0, k_ = 0, n_pad_ = 0, group_ = 0, lanes_ = 0;
    uint8_t bias_ = 0;  // added to each stored byte (128 for u8 x s8 dot products)
    AlignedBytes data_;
    std::vector<float> scale_;  // n_pad; padding rows have scale 0
};

// 4-bit weight rows in groups of ref::kInt4Group values with a half-precision
// scale each (the LM head with --lm-head int4), in the layout of one int4_gemv
// kernel (int4_gemv_generator.cpp): tiles of 2 * lanes rows, two rows per byte.
class Int4Rows {
public:
    Int4Rows() = default;
    // n rows of k values, all zero; k must be a positive multiple of ref::kInt4Group.
    Int4Rows(const KernelInfo& kernel, int n, int k);
    // Row `row` from values in [-8, 7] and k / ref::kInt4Group f16 scales
    // (ref::quantize_row_int4 makes both).
    void set_row(int row, const int8_t* w, const uint16_t* group_scale);
    int8_t get(int row, int col) const;  // W(row, col), for tests
    int n() const { return n_; }
    int k() const { return k_; }
    size_t bytes() const { return data_.size() + scale_.size(); }
    const AlignedBytes& packed() const { return data_; }   // what the kernel streams
    const AlignedBytes& scales() const { return scale_; }  // and beside it

private:
    friend void int4_gemm(const Int4Rows&, const int8_t*, const float*, int, float*);
    size_t offset(int row, int col) const;  // byte of W(row, col); the nibble is row / lanes % 2
    const KernelInfo* kernel_ = nullptr;
    const KernelInfo* batch_kernel_ = nullptr;  // int4_gemm of the same lanes and dot, else kernel_
    int n_ = 0, k_ = 0, n_pad_ = 0, lanes_ = 0;
    AlignedBytes data_;   // (4 * lanes, k / 4, n_pad / (2 * lanes)) bytes
    AlignedBytes scale_;  // (2 * lanes, k / kInt4Group, n_pad / (2 * lanes)) f16
};

// y (m_rows x w.n(), row-major) = the int4 rows times m_rows int8 activation rows
// (q: m_rows x w.k()), each scaled by its q_scale (see ref::int4_gemv).
void int4_gemm(const Int4Rows& w, const int8_t* q, const float* q_scale, int m_rows, float* y);

// y[n] = float(sum_k W(n, k) * q[k]) * (row_scale(n) * q_scale) for n < w.n(),
// by the kernel w was packed for; q holds w.k() values.
void int8_gemv(const Int8Rows& w, const int8_t* q, float q_scale, float* y);
// The same for m_rows activation rows at once (q: m_rows x w.k(), y: m_rows x
// w.n(), row-major), reading the weights once for all of them: by the int8_gemm
// kernel of w's bundle where it reads w's layout (same lanes and dot), else by w's.
void int8_gemm(const Int8Rows& w, const int8_t* q, const float* q_scale, int m_rows, float* y);

}  // namespace tern
