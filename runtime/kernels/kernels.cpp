// Argument checking, padding and Halide buffer set-up around the generated
// kernels.
#include "tern/kernels.h"

#include <HalideRuntime.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "kernels/thread_pool.h"
#include "tern/error.h"
#include "tern/reference.h"

namespace tern {
namespace {

// A dense Halide buffer over caller memory; extents innermost first.
class DenseBuffer {
public:
    DenseBuffer(const DenseBuffer&) = delete;  // buf_ points into dims_
    DenseBuffer& operator=(const DenseBuffer&) = delete;
    DenseBuffer(const void* host, halide_type_t type, const std::vector<int>& extents) {
        int stride = 1;
        for (int e : extents) {
            dims_.push_back(halide_dimension_t{0, e, stride, 0});
            stride *= e;
        }
        buf_.host = static_cast<uint8_t*>(const_cast<void*>(host));
        buf_.type = type;
        buf_.dimensions = static_cast<int>(dims_.size());
        buf_.dim = dims_.data();
    }
    halide_buffer_t* get() { return &buf_; }

private:
    halide_buffer_t buf_{};
    std::vector<halide_dimension_t> dims_;
};

const halide_type_t kI8{halide_type_int, 8, 1};
const halide_type_t kU8{halide_type_uint, 8, 1};
const halide_type_t kU16{halide_type_uint, 16, 1};
const halide_type_t kF32{halide_type_float, 32, 1};

void require(bool ok, const std::string& message) {
    if (!ok) throw Error(message);
}

void require_pointer(const void* p, const char* fn, const char* arg) {
    require(p != nullptr, std::string(fn) + ": " + arg + " is null");
}

void check_halide(int status, const std::string& name) {
    require(status == 0, "kernel " + name + " failed with Halide error " + std::to_string(status));
}

// A buffer argument cut along one dimension whose extent is a whole number of
// row tiles: the packed weights' tile dimension, per-row scales, outputs.
struct RowCut {
    halide_buffer_t* buf;
    int dim;
};

// Runs a kernel on m_rows activation rows. A single row runs as one call per
// thread, each over a contiguous equal share of the row tiles (the kernel's own
// parallel loop then runs serially inside each); the first cut's dimension
// counts the tiles. Why: the kernels' parallel loops hand out fixed groups of
// tiles as threads ask for them, and few groups split unevenly: a 2560-row
// matrix of 32-row tiles in groups of 16 is 5 groups, 3 on one thread and 2 on
// the other. On 2B4T's GEMV shapes at 2 threads (AVX2 bundle, Intel Xeon
// guest), equal contiguous shares took 1.2-1.3x less time.
constexpr int kMaxArgs = 8, kMaxDims = 4;
template <int N>
int run_rows(KernelInfo::Entry entry, void* (&args)[N], int m_rows,
             std::initializer_list<RowCut> cuts) {
    static_assert(N <= kMaxArgs, "run_rows: too many arguments");
    const int tiles = cuts.begin()->buf->dim[cuts.begin()->dim].extent;
    const int parts = m_rows == 1 ? std::min(tiles, current_pool().threads()) : 1;
    if (parts <= 1) return entry(args);
    require(cuts.size() <= kMaxArgs, "run_rows: too many cut buffers");
    for (const RowCut& cut : cuts)
        require(cut.buf->dimensions <= kMaxDims && cut.buf->dim[cut.dim].extent % tiles == 0,
                "run_rows: a cut buffer is not whole row tiles");
    struct Call {
        KernelInfo::Entry entry;
        void** args;
        int nargs;
        std::initializer_list<RowCut> cuts;
        int tiles, parts;
    } call{entry, args, N, cuts, tiles, parts};
    const halide_task_t part = [](void*, int i, uint8_t* closure) -> int {
        const Call& c = *reinterpret_cast<const Call*>(closure);
        const int64_t t0 = int64_t{c.tiles} * i / c.parts,
                      t1 = int64_t{c.tiles} * (i + 1) / c.parts;
        void* args[kMaxArgs];
        std::copy(c.args, c.args + c.nargs, args);
        halide_buffer_t bufs[kMaxArgs];
        halide_dimension_t dims[kMaxArgs][kMaxDims];
        for (size_t a = 0; a < c.cuts.size(); ++a) {
            const RowCut& cut = c.cuts.begin()[a];
            halide_buffer_t& b = bufs[a];
            b = *cut.buf;
            std::copy(cut.buf->dim, cut.buf->dim + b.dimensions, dims[a]);
            b.dim = dims[a];
            halide_dimension_t& d = b.dim[cut.dim];
            const int64_t per_tile = d.extent / c.tiles;
            b.host += per_tile * t0 * d.stride * b.type.bytes();
            d.extent = static_cast<int32_t>(per_tile * (t1 - t0));
            // Outer dimensions of extent 1 (the one activation row) are never
            // stepped, and the kernels require dense strides.
            for (int o = cut.dim + 1; o < b.dimensions; ++o)
                if (b.dim[o].extent == 1)
                    b.dim[o].stride = b.dim[o - 1].stride * b.dim[o - 1].extent;
            std::replace(args, args + c.nargs, static_cast<void*>(cut.buf), static_cast<void*>(&b));
        }
        return c.entry(args);
    };
    return current_pool().run(nullptr, part, 0, parts, reinterpret_cast<uint8_t*>(&call));
}

// The LM head kernels' shared part: argument checks, then the kernel for m_rows
// activation rows into y, through a scratch buffer when N is not a whole
// number of tiles. `packed` and `scales` are the rows' buffers as the kernel
// reads them.
void run_head_rows(const char* fn, const KernelInfo* kern, DenseBuffer& packed, DenseBuffer& scales,
                   int n, int n_pad, int k, const int8_t* q, const float* q_scale, int m_rows,
                   float* y) {
    require_pointer(q, fn, "q");
    require_pointer(q_scale, fn, "q_scale");
    require_pointer(y, fn, "y");
    require(kern != nullptr, std::string(fn) + ": the rows are empty");
    require(m_rows >= 1,
            std::string(fn) + ": m_rows must be positive, got " + std::to_string(m_rows));
    std::vector<float> y_padded;
    float* y_out = y;
    if (n_pad != n) {
        y_padded.resize(static_cast<size_t>(n_pad) * m_rows);
        y_out = y_padded.data();
    }
    DenseBuffer qb(q, kI8, {k, m_rows});
    DenseBuffer qsb(q_scale, kF32, {m_rows});
    DenseBuffer yb(y_out, kF32, {n_pad, m_rows});
    void* args[] = {packed.get(), scales.get(), qb.get(), qsb.get(), yb.get()};
    pool_install();
    check_halide(run_rows(kern->entry, args, m_rows,
                          {{packed.get(), packed.get()->dimensions - 1},
                           {scales.get(), scales.get()->dimensions - 1},
                           {yb.get(), 0}}),
                 kern->name);
    if (y_out != y)
        for (int m = 0; m < m_rows; ++m)
            std::memcpy(y + static_cast<size_t>(m) * n, &y_padded[static_cast<size_t>(m) * n_pad],
                        sizeof(float) * n);
}

}  // namespace

Family KernelInfo::ternary_family() const {
    if (!is_ternary())
        throw Error("kernel " + name + " (" + family_name(family) + ") is not a ternary kernel");
    return family;
}

int KernelInfo::knob(const std::string& k) const {
    auto it = knobs.find(k);
    if (it == knobs.end()) throw Error("kernel " + name + " has no knob '" + k + "'");
    return it->second;
}

Layout KernelInfo::layout() const {
    Layout l;
    l.family = ternary_family();
    l.lanes = knob("lanes");
    l.g = l.family == Family::tlut ? knob("g") : 2;
    l.k_align = k_alignment(l.family, knob("kblock"), l.g);
    l.base3 = l.family == Family::tmad && knobs.count("base3") && knob("base3") == 1;
    return l;
}

bool can_read(const KernelInfo& kernel, const PackedMatrix& w) {
    const Layout want = kernel.layout();
    return same_packing(w.layout, want) && w.k_pad % want.k_align == 0;
}

// Kernels run their parallel loops on tern's pool (thread_pool.h), not
// Halide's: its workers spin between the many short calls of a decode step.
// (Halide 14's own pool also kept every worker it had created after the count
// was lowered.)
void set_num_threads(int threads) {
    pool_install();
    default_pool().set_threads(threads);
}

void ternary_linear(const KernelInfo& kernel, const PackedMatrix& w, const int8_t* q,
                    const float* q_scale, int m_rows, float* y) {
    static const char* fn = "ternary_linear";
    require_pointer(q, fn, "q");
    require_pointer(q_scale, fn, "q_scale");
    require_pointer(y, fn, "y");
    require_pointer(w.data.data(), fn, "packed weights");
    require(m_rows >= 1,
            std::string(fn) + ": m_rows is " + std::to_string(m_rows) + ", expected at least 1");
    require(can_read(kernel, w), std::string(fn) + ": weights packed as [" + w.layout.describe() +
                                     "] but kernel " + kernel.name + " reads [" +
                                     kernel.layout().describe() + "]");
    require(m_rows >= kernel.m_tile(), std::string(fn) + ": kernel " + kernel.name +
                                           " computes tiles of " + std::to_string(kernel.m_tile()) +
                                           " rows, got m_rows " + std::to_string(m_rows) +
                                           " (use kernel_for to pick the GEMV kernel)");

    // Zero-pad activations to k_pad and write outputs through a scratch buffer
    // when N is not a whole number of tiles.
    std::vector<int8_t> q_padded;
    const int8_t* q_in = q;
    if (w.k_pad != w.k) {
        q_padded.assign(static_cast<size_t>(m_rows) * w.k_pad, 0);
        for (int m = 0; m < m_rows; ++m)
            std::memcpy(&q_padded[static_cast<size_t>(m) * w.k_pad],
                        q + static_cast<size_t>(m) * w.k, w.k);
        q_in = q_padded.data();
    }
    std::vector<float> y_padded;
    float* y_out = y;
    if (w.n_pad != w.n) {
        y_padded.resize(static_cast<size_t>(m_rows) * w.n_pad);
        y_out = y_padded.data();
    }

    DenseBuffer qb(q_in, kI8, {w.k_pad, m_rows});
    DenseBuffer sb(q_scale, kF32, {m_rows});
    DenseBuffer pb(w.data.data(), w.elem_bits == 16 ? kU16 : kU8, w.dims);
    DenseBuffer yb(y_out, kF32, {w.n_pad, m_rows});
    float w_scale = w.scale;
    void* args[] = {qb.get(), sb.get(), &w_scale, pb.get(), yb.get()};
    pool_install();
    check_halide(run_rows(kernel.entry, args, m_rows,
                          {{pb.get(), static_cast<int>(w.dims.size()) - 1}, {yb.get(), 0}}),
                 kernel.name);

    if (y_out != y) {
        for (int m = 0; m < m_rows; ++m)
            std::memcpy(y + static_cast<size_t>(m) * w.n,
                        &y_padded[static_cast<size_t>(m) * w.n_pad], sizeof(float) * w.n);
    }
}

void rmsnorm_quantize(const KernelInfo& kern, const float* x, const float* weight, int k,
                      int m_rows, float eps, int8_t* q, float* scale) {
    static const char* fn = "rmsnorm_quantize";
    require_pointer(x, fn, "x");
    require_pointer(weight, fn, "weight");
    require_pointer(q, fn, "q");
    require_pointer(scale, fn, "scale");
    require(k >= 1 && m_rows >= 1, std::string(fn) + ": k and m_rows must be positive, got k " +
                                       std::to_string(k) + ", m_rows " + std::to_string(m_rows));
    require(eps >= 0.0f, std::string(fn) + ": eps must be non-negative");
    require(kern.family == Family::rmsnorm_quant,
            std::string(fn) + ": kernel " + kern.name + " is not an rmsnorm_quant kernel");
    DenseBuffer xb(x, kF32, {k, m_rows});
    DenseBuffer wb(weight, kF32, {k});
    DenseBuffer qb(q, kI8, {k, m_rows});
    DenseBuffer sb(scale, kF32, {m_rows});
    void* args[] = {xb.get(), wb.get(), &eps, qb.get(), sb.get()};
    pool_install();
    check_halide(kern.entry(args), kern.name);
}

void int8_gemm(const Int8Rows& w, const int8_t* q, const float* q_scale, int m_rows, float* y) {
    const int g = w.group_, L = w.lanes_;
    DenseBuffer packed(w.data_.data(), kU8, {g * L, w.k_ / g, w.n_pad_ / L});
    DenseBuffer scales(w.scale_.data(), kF32, {w.n_pad_});
    run_head_rows("int8_gemm", m_rows > 1 ? w.batch_kernel_ : w.kernel_, packed, scales, w.n_,
                  w.n_pad_, w.k_, q, q_scale, m_rows, y);
}

void int4_gemm(const Int4Rows& w, const int8_t* q, const float* q_scale, int m_rows, float* y) {
    const int L = w.lanes_, R = 2 * L;
    DenseBuffer packed(w.data_.data(), kU8, {4 * L, w.k_ / 4, w.n_pad_ / R});
    DenseBuffer scales(w.scale_.data(), kU16, {R, w.k_ / ref::kInt4Group, w.n_pad_ / R});
    run_head_rows("int4_gemm", m_rows > 1 ? w.batch_kernel_ : w.kernel_, packed, scales, w.n_,
                  w.n_pad_, w.k_, q, q_scale, m_rows, y);
}

void int8_gemv(const Int8Rows& w, const int8_t* q, float q_scale, float* y) {
    static const char* fn = "int8_gemv";
    require_pointer(q, fn, "q");
    require_pointer(y, fn, "y");
    require(w.n() > 0, std::string(fn) + ": the rows are empty");
    int8_gemm(w, q, &q_scale, 1, y);
}

}  // namespace tern
