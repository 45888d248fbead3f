// Packers from canonical ternary rows into each family's layout, and back.
// The layouts are documented at the top of each generator.
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "tern/error.h"
#include "tern/ternary.h"

namespace tern {

namespace {

int round_up(int v, int m) { return (v + m - 1) / m * m; }

// The position of one weight in a packed buffer: element index and bit shift.
struct Slot {
    size_t index;
    int shift;
};

// tmad: byte (t, kq, 4j + b), digit s of row t*R + s*L + j, k = 4kq + b. For
// 2-bit codes `shift` is the digit's bit position; for base-3 bytes it is s.
Slot tmad_slot(const Layout& l, int k_pad, int n, int k) {
    const int L = l.lanes, R = l.row_tile();
    const int t = n / R, s = (n % R) / L, j = n % L;
    const size_t index = (static_cast<size_t>(t) * (k_pad / 4) + k / 4) * (4 * L) + 4 * j + k % 4;
    return {index, l.base3 ? s : 2 * s};
}

// Base-3 bytes (tmad_generator.cpp): index sum_s c_s 3^(4-s) of five codes,
// stored as ceil(256 * index / 243) so that digit s is the top of 3^s v mod 256.
uint8_t base3_encode(int index) { return static_cast<uint8_t>((index * 256 + 242) / 243); }
int base3_digit(uint8_t v, int s) {
    unsigned t = v;
    for (int i = 0; i < s; ++i) t = (3 * t) & 255;
    return static_cast<int>((3 * t) >> 8);
}
constexpr int kBase3Weight[5] = {81, 27, 9, 3, 1};

// tadd: u16 word (t, kw, plane, j), bit b, k = 16kw + b. Plane 0 marks +1,
// plane 1 marks -1.
Slot tadd_slot(const Layout& l, int k_pad, int n, int k, int plane) {
    const int T = l.lanes;
    const int t = n / T, j = n % T;
    const size_t index = ((static_cast<size_t>(t) * (k_pad / 16) + k / 16) * 2 + plane) * T + j;
    return {index, k % 16};
}

// tlut: byte (t, grp, j) = base-3 index sum_i (w_i + 1) 3^i over k = g*grp + i.
size_t tlut_index(const Layout& l, int k_pad, int n, int grp) {
    const int T = l.lanes;
    return (static_cast<size_t>(n / T) * (k_pad / l.g) + grp) * T + n % T;
}

int pow3(int g) { return g == 0 ? 1 : 3 * pow3(g - 1); }

void check_layout(const Layout& l) {
    const char* f = family_name(l.family);
    if (!is_ternary_family(l.family))
        throw Error(std::string("layout ") + f + ": not a ternary kernel family");
    if (!knob_value_is_legal(l.family, "lanes", l.lanes))
        throw Error(std::string("layout ") + f + ": lanes " + std::to_string(l.lanes) +
                    " is not a legal value");
    if (l.family == Family::tlut && !knob_value_is_legal(l.family, "g", l.g))
        throw Error(std::string("layout tlut: group size g ") + std::to_string(l.g) +
                    " is not a legal value");
    if (l.base3 && l.family != Family::tmad)
        throw Error(std::string("layout ") + f + ": base-3 bytes are tmad's layout only");
    const int need = l.family == Family::tmad ? 4 : l.family == Family::tadd ? 16 : l.g;
    if (l.k_align <= 0 || l.k_align % need != 0)
        throw Error(std::string("layout ") + f + ": k_align " + std::to_string(l.k_align) +
                    " must be a positive multiple of " + std::to_string(need));
}

}  // namespace

TernaryMatrix::TernaryMatrix(int rows, int cols, float s)
    : n(rows), k(cols), scale(s), w(static_cast<size_t>(rows) * cols, 0) {}

std::string Layout::describe() const {
    std::string d = std::string(family_name(family)) + " lanes=" + std::to_string(lanes);
    if (family == Family::tlut) d += " g=" + std::to_string(g);
    if (base3) d += " base3";
    return d + " k_align=" + std::to_string(k_align);
}

double Layout::bits_per_weight() const {
    switch (family) {
        case Family::tmad:
            return 8.0 / codes_per_byte(base3);
        case Family::tadd:
            return 2.0;  // two mask bits
        case Family::tlut:
            return 8.0 / g;
        default:  // not a ternary layout
            break;
    }
    return 0;
}

const char* weight_format_name(WeightFormat f) {
    switch (f) {
        case WeightFormat::tuned:
            return "tuned";
        case WeightFormat::bits2:
            return "2";
        case WeightFormat::bits1_6:
            return "1.6";
    }
    return "?";
}

WeightFormat parse_weight_format(const std::string& s) {
    for (WeightFormat f : {WeightFormat::tuned, WeightFormat::bits2, WeightFormat::bits1_6})
        if (s == weight_format_name(f)) return f;
    throw Error("weight format '" + s + "': expected tuned, 2 or 1.6");
}

bool layout_has_format(const Layout& l, WeightFormat f) {
    return f == WeightFormat::tuned || l.base3 == (f == WeightFormat::bits1_6);
}

bool same_packing(const Layout& a, const Layout& b) {
    return a.family == b.family && a.lanes == b.lanes && a.g == b.g && a.base3 == b.base3;
}

AlignedBytes::AlignedBytes(size_t size) : size_(size) {
    // Large buffers (weights) go on 2 MiB boundaries and ask for transparent huge
    // pages: streaming them then crosses a page, and misses the TLB, 512x less
    // often, and hardware prefetchers (which stop at page boundaries) run longer.
    // From 1 MiB on, at most half a huge page of padding: 2B4T's 1.6 MB
    // attention output matrices streamed 16 GB/s on 4 KiB pages and 21-24 GB/s
    // on a huge page (one thread). A model's matrices share one such buffer
    // (slices), so that the padding is paid once, not per matrix.
    constexpr size_t kHuge = size_t{2} << 20;
    const size_t align = size >= kHuge / 2 ? kHuge : 64;
    const size_t rounded = std::max<size_t>(align, (size + align - 1) / align * align);
    void* p = std::aligned_alloc(align, rounded);
    if (!p) throw Error("out of memory allocating " + std::to_string(size) + " bytes");
    if (align == kHuge) madvise(p, rounded, MADV_HUGEPAGE);
    std::memset(p, 0, rounded);
    owner_.reset(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
    data_ = owner_.get();
}

AlignedBytes AlignedBytes::slice(size_t offset, size_t size) const {
    if (offset % 64 != 0 || offset > size_ || size > size_ - offset)
        throw Error("AlignedBytes::slice: [" + std::to_string(offset) + ", +" +
                    std::to_string(size) + ") is not a 64-byte aligned part of " +
                    std::to_string(size_) + " bytes");
    AlignedBytes s;
    s.owner_ = owner_;
    s.data_ = data_ + offset;
    s.size_ = size;
    return s;
}

PackedShape packed_shape(const Layout& layout, int n, int k) {
    PackedShape s;
    s.n_pad = round_up(n, layout.row_tile());
    s.k_pad = round_up(k, layout.k_align);
    const int T = layout.row_tile();
    switch (layout.family) {
        case Family::tmad:
            s.dims = {4 * layout.lanes, s.k_pad / 4, s.n_pad / T};
            break;
        case Family::tadd:
            s.elem_bits = 16;
            s.dims = {T, 2, s.k_pad / 16, s.n_pad / T};
            break;
        case Family::tlut:
            s.dims = {T, s.k_pad / layout.g, s.n_pad / T};
            break;
        default:  // not a ternary layout (check_layout refuses it)
            break;
    }
    s.bytes = static_cast<size_t>(s.elem_bits / 8);
    for (int d : s.dims) s.bytes *= static_cast<size_t>(d);
    return s;
}

PackedMatrix pack(int n, int k, float scale, const RowSource& rows, const Layout& layout,
                  AlignedBytes storage) {
    check_layout(layout);
    if (n <= 0 || k <= 0)
        throw Error("pack: matrix must have positive size, got " + std::to_string(n) + " x " +
                    std::to_string(k));
    PackedMatrix p;
    p.layout = layout;
    p.n = n;
    p.k = k;
    p.scale = scale;
    const PackedShape shape = packed_shape(layout, n, k);
    p.n_pad = shape.n_pad;
    p.k_pad = shape.k_pad;
    p.elem_bits = shape.elem_bits;
    p.dims = shape.dims;
    if (storage.size() == 0) {
        p.data = AlignedBytes(shape.bytes);
    } else if (storage.size() != shape.bytes) {
        throw Error("pack: storage of " + std::to_string(storage.size()) + " bytes for a " +
                    std::to_string(shape.bytes) + "-byte packing");
    } else {
        p.data = std::move(storage);
    }

    std::vector<int8_t> row(p.k_pad, 0);
    uint8_t* bytes = p.data.data();
    uint16_t* words = reinterpret_cast<uint16_t*>(bytes);
    for (int r = 0; r < p.n_pad; ++r) {
        std::fill(row.begin(), row.end(), 0);
        if (r < n) {
            rows(r, row.data());
            for (int c = 0; c < k; ++c) {
                if (row[c] < -1 || row[c] > 1)
                    throw Error("pack: weight (" + std::to_string(r) + ", " + std::to_string(c) +
                                ") is " + std::to_string(row[c]) + ", expected -1, 0 or +1");
            }
        }
        switch (layout.family) {
            case Family::tmad: {
                // tmad_slot, walked row-wise: byte (t, k/4, 4j + k%4) of the row's
                // tile, at bit 2s (loading a model packs billions of weights).
                // Base-3 bytes collect the index (at most 242) and are encoded
                // once all rows are in.
                const Slot first = tmad_slot(layout, p.k_pad, r, 0);
                const size_t stride = 4 * static_cast<size_t>(layout.lanes);  // bytes per k quad
                uint8_t* b = bytes + first.index;
                if (layout.base3) {
                    const int weight = kBase3Weight[first.shift];
                    for (int c = 0; c < p.k_pad; c += 4, b += stride)
                        for (int e = 0; e < 4; ++e)
                            b[e] = static_cast<uint8_t>(b[e] + (row[c + e] + 1) * weight);
                } else {
                    for (int c = 0; c < p.k_pad; c += 4, b += stride)
                        for (int e = 0; e < 4; ++e)
                            b[e] |= static_cast<uint8_t>((row[c + e] + 1) << first.shift);
                }
                break;
            }
            case Family::tadd:
                for (int c = 0; c < p.k_pad; ++c) {
                    if (row[c] == 0) continue;
                    const Slot s = tadd_slot(layout, p.k_pad, r, c, row[c] > 0 ? 0 : 1);
                    words[s.index] |= static_cast<uint16_t>(1u << s.shift);
                }
                break;
            case Family::tlut:
                for (int grp = 0; grp < p.k_pad / layout.g; ++grp) {
                    int idx = 0;
                    for (int i = layout.g - 1; i >= 0; --i)
                        idx = 3 * idx + row[grp * layout.g + i] + 1;
                    bytes[tlut_index(layout, p.k_pad, r, grp)] = static_cast<uint8_t>(idx);
                }
                break;
            default:  // not a ternary layout (check_layout refuses it)
                break;
        }
    }
    if (layout.base3) {
        for (size_t i = 0; i < p.data.size(); ++i) bytes[i] = base3_encode(bytes[i]);
    }
    return p;
}

PackedMatrix pack(const TernaryMatrix& m, const Layout& layout) {
    if (m.w.size() != static_cast<size_t>(m.n) * m.k)
        throw Error("pack: matrix holds " + std::to_string(m.w.size()) + " weights, expected " +
                    std::to_string(m.n) + " x " + std::to_string(m.k));
    return pack(
        m.n, m.k, m.scale,
        [&](int r, int8_t* out) { std::memcpy(out, &m.w[static_cast<size_t>(r) * m.k], m.k); },
        layout);
}

PackedMatrix copy(const PackedMatrix& p) {
    PackedMatrix c;
    c.layout = p.layout;
    c.n = p.n;
    c.k = p.k;
    c.n_pad = p.n_pad;
    c.k_pad = p.k_pad;
    c.scale = p.scale;
    c.elem_bits = p.elem_bits;
    c.dims = p.dims;
    c.data = AlignedBytes(p.data.size());
    std::memcpy(c.data.data(), p.data.data(), p.data.size());
    return c;
}

TernaryMatrix unpack(const PackedMatrix& p) {
    TernaryMatrix m(p.n, p.k, p.scale);
    const Layout& l = p.layout;
    const uint8_t* bytes = p.data.data();
    const uint16_t* words = reinterpret_cast<const uint16_t*>(bytes);
    for (int r = 0; r < p.n; ++r) {
        for (int c = 0; c < p.k; ++c) {
            int w = 0;
            switch (l.family) {
                case Family::tmad: {
                    const Slot s = tmad_slot(l, p.k_pad, r, c);
                    w = (l.base3 ? base3_digit(bytes[s.index], s.shift)
                                 : (bytes[s.index] >> s.shift) & 3) -
                        1;
                    break;
                }
                case Family::tadd: {
                    const Slot plus = tadd_slot(l, p.k_pad, r, c, 0);
                    const Slot minus = tadd_slot(l, p.k_pad, r, c, 1);
                    w = ((words[plus.index] >> plus.shift) & 1) -
                        ((words[minus.index] >> minus.shift) & 1);
                    break;
                }
                case Family::tlut: {
                    const int idx = bytes[tlut_index(l, p.k_pad, r, c / l.g)];
                    w = (idx / pow3(c % l.g)) % 3 - 1;
                    break;
                }
                default:  // not a ternary layout
                    break;
            }
            m.w[static_cast<size_t>(r) * p.k + c] = static_cast<int8_t>(w);
        }
    }
    return m;
}

}  // namespace tern
