// The public kernel API: the generated kernels of this build, found by name or
// family, called with plain pointers. Every call validates its arguments and
// throws tern::Error naming the argument and what was expected.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tern/ternary.h"

namespace tern {

// A generated kernel: compiled into this build (ahead of time) or by the tuner
// (JIT). Both are called through Halide's argv entry point: an array of
// halide_buffer_t* for buffers and pointers to scalars, in generator order.
struct KernelInfo {
    using Entry = int (*)(void** args);

    std::string name;    // e.g. "tmad_gemv"
    std::string family;  // "tmad", "tlut", "tadd", "rmsnorm_quant", "int8_gemv"
    std::map<std::string, int> knobs;
    Entry entry = nullptr;

    bool is_ternary() const;
    Family ternary_family() const;            // throws unless is_ternary()
    int knob(const std::string& name) const;  // throws if the kernel has no such knob
    int m_tile() const { return knob("m_tile"); }
    // The weight layout this kernel reads (ternary kernels only).
    Layout layout() const;
};

// Every kernel compiled into this build.
const std::vector<KernelInfo>& kernels();
const KernelInfo& kernel(const std::string& name);
// The kernel of family f to run on m_rows activation rows: the GEMM instance when
// m_rows reaches its row tile, else the GEMV instance.
const KernelInfo& kernel_for(Family f, int m_rows);

// Threads used by the kernels (Halide's pool); 0 restores the default.
void set_num_threads(int threads);

// y[m * w.n + n] = w.scale * q_scale[m] * sum_k W(n, k) * q[m * w.k + k], for
// m < m_rows. q rows have w.k values (unpadded); w must be packed in kernel's
// layout; m_rows must be at least the kernel's m_tile.
void ternary_linear(const KernelInfo& kernel, const PackedMatrix& w, const int8_t* q,
                    const float* q_scale, int m_rows, float* y);

// Fused RMSNorm + int8 quantiser over m_rows rows of k floats; same definition as
// ref::rmsnorm_quantize.
void rmsnorm_quantize(const float* x, const float* weight, int k, int m_rows, float eps, int8_t* q,
                      float* scale);

// int8 rows with per-row scales times one int8 activation row (the LM head).
// w is n x k row-major; k must be a multiple of 4 (see int8_gemv_generator.cpp
// for the layout requirement).
void int8_gemv(const int8_t* w, const float* row_scale, int n, int k, const int8_t* q,
               float q_scale, float* y);

}  // namespace tern
