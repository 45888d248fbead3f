// Ternary weight matrices: the canonical form and the packed layouts of the
// kernel families.
//
// The canonical form is what every source of weights decodes into, one row at a
// time: N rows of K values in {-1, 0, +1} plus the per-tensor scale. Packing
// consumes rows through a RowSource callback, so a GGUF tensor (TQ2_0, TQ1_0,
// I2_S) can be repacked at load time without materialising the int8 matrix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tern/knob_space.h"

namespace tern {

// N x K ternary matrix, row-major (row n holds the K weights of output n).
struct TernaryMatrix {
    int n = 0;
    int k = 0;
    float scale = 1.0f;
    std::vector<int8_t> w;  // n * k values in {-1, 0, 1}

    TernaryMatrix() = default;
    TernaryMatrix(int rows, int cols, float s = 1.0f);
    int8_t at(int row, int col) const { return w[static_cast<size_t>(row) * k + col]; }
};

// Writes the K weights of row `row` into `out` (values -1, 0, +1).
using RowSource = std::function<void(int row, int8_t* out)>;

// What the packer needs to know about a kernel: its family and the knobs that
// shape its weight layout.
struct Layout {
    Family family = Family::tmad;
    int lanes = 8;       // see knob_space.h: rows per tile derive from it
    int g = 2;           // tlut group size
    int k_align = 4;     // K is padded to a multiple of this
    bool base3 = false;  // tmad: five base-3 weights per byte (1.6 bits), not four 2-bit codes

    int row_tile() const { return tern::row_tile(family, lanes, base3); }
    // Stored bits per weight, padding aside.
    double bits_per_weight() const;
    std::string describe() const;
};

// Which stored form of ternary weights to run: as the bundle's kernels were
// tuned (the default), or forced to 2-bit codes or to 1.6-bit base-3 bytes (for
// side-by-side measurements; the bundle must have kernels of that form).
enum class WeightFormat { tuned, bits2, bits1_6 };
const char* weight_format_name(WeightFormat f);          // "tuned", "2", "1.6"
WeightFormat parse_weight_format(const std::string& s);  // the same names
bool layout_has_format(const Layout& l, WeightFormat f);

// Bytes with 64-byte alignment (vector loads and cache lines), zeroed; or a
// 64-byte aligned slice of such a buffer (an arena), which the slice keeps alive.
class AlignedBytes {
public:
    AlignedBytes() = default;
    explicit AlignedBytes(size_t size);
    // Bytes [offset, offset + size) of `arena`; offset must be a multiple of 64.
    AlignedBytes slice(size_t offset, size_t size) const;
    uint8_t* data() { return data_; }
    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

private:
    std::shared_ptr<uint8_t> owner_;
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

// Two layouts hold the same bytes for a matrix if they agree in all but K
// alignment (K padding is checked separately).
bool same_packing(const Layout& a, const Layout& b);

// A matrix in a family's layout, padded to whole tiles: rows n..n_pad and
// columns k..k_pad hold zero weights.
struct PackedMatrix {
    Layout layout;
    int n = 0, k = 0;
    int n_pad = 0, k_pad = 0;
    float scale = 1.0f;
    int elem_bits = 8;      // 8, or 16 for tadd's mask words
    std::vector<int> dims;  // Halide buffer extents, innermost first (dense)
    AlignedBytes data;
};

// The padded sizes and buffer shape of an n x k matrix in a layout.
struct PackedShape {
    int n_pad = 0, k_pad = 0;
    int elem_bits = 8;
    std::vector<int> dims;  // Halide buffer extents, innermost first
    size_t bytes = 0;
};
PackedShape packed_shape(const Layout& layout, int n, int k);

// `storage`, if given, is where the packed bytes go: zeroed, packed_shape's bytes
// long (a slice of an arena holding many matrices); otherwise pack allocates.
PackedMatrix pack(int n, int k, float scale, const RowSource& rows, const Layout& layout,
                  AlignedBytes storage = {});
PackedMatrix pack(const TernaryMatrix& m, const Layout& layout);
// A deep copy (benchmarks and the tuner stream many copies of one matrix).
PackedMatrix copy(const PackedMatrix& p);
// Inverse of pack (for tests and tools): the canonical matrix back.
TernaryMatrix unpack(const PackedMatrix& p);

}  // namespace tern
