// int8 rows (the LM head) in an int8_gemv kernel's layout: tiles of `lanes`
// rows, each a sequential run of k-groups (int8_gemv_generator.cpp).
#include <cstring>

#include "tern/error.h"
#include "tern/kernels.h"

namespace tern {

Int8Rows::Int8Rows(const KernelInfo& kernel, int n, int k) : kernel_(&kernel), n_(n), k_(k) {
    if (kernel.family != Family::int8_gemv)
        throw Error("Int8Rows: kernel " + kernel.name + " is not an int8_gemv kernel");
    if (n < 1 || k < 4 || k % 4 != 0)
        throw Error("Int8Rows: " + std::to_string(n) + " x " + std::to_string(k) +
                    " rows, expected n >= 1 and k a positive multiple of 4");
    const int dot = kernel.knob("dot");
    lanes_ = kernel.knob("lanes");
    group_ = dot == 0 ? 2 : 4;
    bias_ = dot == 1 ? 128 : 0;
    n_pad_ = (n + lanes_ - 1) / lanes_ * lanes_;
    data_ = AlignedBytes(static_cast<size_t>(n_pad_) * k);
    if (bias_ != 0) std::memset(data_.data(), bias_, data_.size());  // padding rows are zero
    scale_.assign(n_pad_, 0.0f);
    batch_kernel_ = &head_batch_kernel(kernel, "int8_gemm");
}

void Int8Rows::set_kernel(const KernelInfo& kernel) {
    // Lanes and dot fix the layout (as for the batch kernel, head_batch_kernel).
    if (kernel.family != Family::int8_gemv || kernel.knob("lanes") != kernel_->knob("lanes") ||
        kernel.knob("dot") != kernel_->knob("dot"))
        throw Error("Int8Rows::set_kernel: kernel " + kernel.name +
                    " does not read the layout of " + kernel_->name);
    kernel_ = &kernel;
}

size_t Int8Rows::offset(int row, int col) const {
    const size_t tile = static_cast<size_t>(row / lanes_) * lanes_ * k_;
    return tile + static_cast<size_t>(col / group_) * group_ * lanes_ +
           static_cast<size_t>(row % lanes_) * group_ + col % group_;
}

void Int8Rows::set_row(int row, const int8_t* w, float scale) {
    if (row < 0 || row >= n_)
        throw Error("Int8Rows::set_row: row " + std::to_string(row) + " outside [0, " +
                    std::to_string(n_) + ")");
    uint8_t* out = data_.data();
    for (int c = 0; c < k_; ++c)
        out[offset(row, c)] = static_cast<uint8_t>(static_cast<uint8_t>(w[c]) + bias_);
    scale_[row] = scale;
}

int8_t Int8Rows::get(int row, int col) const {
    return static_cast<int8_t>(static_cast<uint8_t>(data_.data()[offset(row, col)] - bias_));
}

}  // namespace tern
