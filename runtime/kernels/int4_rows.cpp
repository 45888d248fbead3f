// 4-bit rows (the LM head with --lm-head int4) in an int4_gemv kernel's layout:
// tiles of 2 * lanes rows, byte 4j + b of each k quad holding W + 8 of row j in
// its low nibble and of row lanes + j in its high one (int4_gemv_generator.cpp).
#include <cstring>

#include "tern/error.h"
#include "tern/kernels.h"
#include "tern/reference.h"

namespace tern {

Int4Rows::Int4Rows(const KernelInfo& kernel, int n, int k) : kernel_(&kernel), n_(n), k_(k) {
    if (kernel.family != Family::int4_gemv)
        throw Error("Int4Rows: kernel " + kernel.name + " is not an int4_gemv kernel");
    if (n < 1 || k < ref::kInt4Group || k % ref::kInt4Group != 0)
        throw Error("Int4Rows: " + std::to_string(n) + " x " + std::to_string(k) +
                    " rows, expected n >= 1 and k a positive multiple of " +
                    std::to_string(ref::kInt4Group));
    lanes_ = kernel.knob("lanes");
    const int R = 2 * lanes_;
    n_pad_ = (n + R - 1) / R * R;
    data_ = AlignedBytes(static_cast<size_t>(n_pad_) * k / 2);
    std::memset(data_.data(), 0x88, data_.size());  // zero weights (+8 in each nibble)
    scale_ = AlignedBytes(static_cast<size_t>(n_pad_) * (k / ref::kInt4Group) * 2);  // zero scales
    batch_kernel_ = &head_batch_kernel(kernel, "int4_gemm");
}

size_t Int4Rows::offset(int row, int col) const {
    const int R = 2 * lanes_;
    const size_t tile = static_cast<size_t>(row / R) * k_ * lanes_;  // R rows of k / 2 bytes
    return tile + static_cast<size_t>(col / 4) * 4 * lanes_ +
           static_cast<size_t>(row % lanes_) * 4 + col % 4;
}

void Int4Rows::set_row(int row, const int8_t* w, const uint16_t* group_scale) {
    if (row < 0 || row >= n_)
        throw Error("Int4Rows::set_row: row " + std::to_string(row) + " outside [0, " +
                    std::to_string(n_) + ")");
    const int shift = 4 * (row / lanes_ % 2);
    uint8_t* out = data_.data();
    for (int c = 0; c < k_; ++c) {
        if (w[c] < -8 || w[c] > 7)
            throw Error("Int4Rows::set_row: W(" + std::to_string(row) + ", " + std::to_string(c) +
                        ") is " + std::to_string(w[c]) + ", expected -8 .. 7");
        uint8_t& b = out[offset(row, c)];
        b = static_cast<uint8_t>((b & ~(15 << shift)) | ((w[c] + 8) << shift));
    }
    const int R = 2 * lanes_, groups = k_ / ref::kInt4Group;
    auto* scales = reinterpret_cast<uint16_t*>(scale_.data());
    for (int g = 0; g < groups; ++g)
        scales[(static_cast<size_t>(row / R) * groups + g) * R + row % R] = group_scale[g];
}

int8_t Int4Rows::get(int row, int col) const {
    const int shift = 4 * (row / lanes_ % 2);
    return static_cast<int8_t>(((data_.data()[offset(row, col)] >> shift) & 15) - 8);
}

}  // namespace tern
