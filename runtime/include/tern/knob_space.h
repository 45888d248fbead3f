// Every kernel family (one Halide generator each) and its knobs, declared once.
//
// Generators check their GeneratorParams against these lists, the runtime
// derives weight layouts from them, the tuner enumerates the ternary families'
// spaces, and the build validates schedule databases against the knob names
// (cmake/knob_table.cpp prints them for CMake). Header-only so that
// generators (built against GenGen) and the runtime share it without a library
// between them.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace tern {

// The ternary matmul families first (multiply-add, table lookup, add-only),
// then the other kernels a bundle holds.
enum class Family { tmad, tlut, tadd, rmsnorm_quant, int8_gemv, int4_gemv };
inline constexpr Family kFamilies[] = {Family::tmad,          Family::tlut,      Family::tadd,
                                       Family::rmsnorm_quant, Family::int8_gemv, Family::int4_gemv};

inline const char* family_name(Family f) {
    switch (f) {
        case Family::tmad:
            return "tmad";
        case Family::tlut:
            return "tlut";
        case Family::tadd:
            return "tadd";
        case Family::rmsnorm_quant:
            return "rmsnorm_quant";
        case Family::int8_gemv:
            return "int8_gemv";
        case Family::int4_gemv:
            return "int4_gemv";
    }
    return "?";
}

// The family a generator name gives; false if there is none.
inline bool find_family(const std::string& name, Family* out) {
    for (Family f : kFamilies)
        if (name == family_name(f)) {
            *out = f;
            return true;
        }
    return false;
}

// Ternary weight matmuls: their knobs decide a weight layout.
inline bool is_ternary_family(Family f) {
    return f == Family::tmad || f == Family::tlut || f == Family::tadd;
}

// How tmad turns 2-bit codes and int8 activations into sums.
enum class DotKind {
    pair16 = 0,   // u8 x s8 pairs into int16 (pmaddubsw), int16 blocks widened to int32
    quad32u = 1,  // u8 x s8 quads straight into int32 (vpdpbusd, udot-free x86 VNNI)
    quad32s = 2,  // s8 x s8 quads into int32 on signed weights (ARM sdot); no activation sum
};

struct Knob {
    std::string name;
    std::vector<int> values;
    std::string what;
    bool layout;  // changes the packed weight layout (the runtime must repack)
};

// Legal values per family. The first value of each knob is not a default; defaults
// live in schedules/<target>.yaml. The tuner searches the ternary families'
// spaces; the others list their knobs with the values tern's schedules and tuner use.
inline std::vector<Knob> knob_space(Family f) {
    const Knob m_tile{
        "m_tile", {1, 2, 3, 4}, "activation rows per register tile (1 = GEMV)", false};
    const Knob unroll{"unroll", {1, 2, 4}, "unroll of the innermost K loop", false};
    const Knob prefetch{
        "prefetch", {0, 2, 4, 8, 16}, "K blocks of weights prefetched ahead (0 = off)", false};
    const Knob prefetch_l2{"prefetch_l2",
                           {0, 2, 4},
                           "KiB further on than each prefetch, prefetched into L2 too (0 = off; "
                           "needs prefetch)",
                           false};
    const Knob tasks{"tasks", {1, 4, 16, 64}, "row tiles per parallel task", false};
    switch (f) {
        case Family::tmad:
            return {
                {"lanes", {4, 8, 16}, "int32 lanes per vector; a row tile is 4 * lanes rows", true},
                {"kblock", {4, 8, 16, 32}, "K quads per block accumulated before widening", false},
                {"dot",
                 {0, 1, 2},
                 "0 pair16 (pmaddubsw), 1 quad32u (vpdpbusd), 2 quad32s (sdot)",
                 false},
                {"unpack",
                 {0, 1},
                 "0 shift every code down; 1 mask codes in place (2-bit only: pair16 "
                 "with kblock <= 16 reads odd codes x4, one shift less; quad32u reads "
                 "code s x4^s, no shifts)",
                 false},
                {"base3",
                 {0, 1},
                 "weights per byte: 0 four 2-bit codes; 1 five base-3 digits (1.6 bits)",
                 true},
                {"decode",
                 {0, 1},
                 "0 unpack codes in every pass; 1 once per row tile into a buffer (GEMM)",
                 false},
                {"chains",
                 {1, 2, 4},
                 "independent sums over K per accumulator (quad dot kinds; overlaps the "
                 "dot products' latency)",
                 false},
                m_tile,
                unroll,
                prefetch,
                prefetch_l2,
                tasks};
        case Family::tadd:
            return {{"lanes", {8, 16, 32}, "rows per tile (int16 lanes)", true},
                    {"kblock", {2, 4, 8}, "16-weight mask words per int16 block", false},
                    m_tile,
                    unroll,
                    prefetch,
                    prefetch_l2,
                    tasks};
        case Family::tlut:
            return {{"lanes", {8, 16, 32}, "rows per tile (int16 lanes)", true},
                    {"g", {2, 3}, "activations per table group (3^g table entries)", true},
                    {"kblock", {8, 16, 32, 64}, "groups per int16 block", false},
                    {"lookup",
                     {0, 1},
                     "0 select chain over the 3^g entries; 1 vector table lookup (pshufb, tbl; "
                     "g=2), low and high bytes of the int16 entries looked up apart",
                     false},
                    m_tile,
                    unroll,
                    prefetch,
                    prefetch_l2,
                    tasks};
        case Family::rmsnorm_quant:
            return {
                {"vector_width", {4, 8, 16, 32, 64}, "floats per vector of the row loops", false}};
        case Family::int8_gemv:
            return {
                {"lanes", {4, 8, 16}, "rows per tile: int32 lanes of a vector", true},
                {"dot", {0, 1, 2}, "as tmad's dot", false},
                {"tiles", {1, 2, 4, 8}, "tiles per step: independent accumulators", false},
                {"tasks", {1, 4, 16, 64}, "parallel tasks per call", false},
                {"m_tile", {1, 2, 3, 4}, "activation rows per pass over a tile", false},
                {"prefetch", {0, 8, 16, 32, 64}, "k-groups ahead to prefetch (0: none)", false}};
        case Family::int4_gemv:
            return {
                {"lanes", {4, 8, 16}, "int32 lanes of a vector; a tile is 2 * lanes rows", true},
                {"dot", {0, 1, 2}, "as tmad's dot", false},
                {"tasks", {1, 4, 16, 64}, "row tiles per parallel task", false},
                {"m_tile", {1, 2, 3, 4}, "activation rows per pass over a tile", false}};
    }
    return {};
}

inline bool knob_value_is_legal(Family f, const std::string& name, int value) {
    for (const Knob& k : knob_space(f)) {
        if (k.name == name)
            return std::find(k.values.begin(), k.values.end(), value) != k.values.end();
    }
    return false;
}

// K granularity a kernel instance needs: K is padded (with zero weights and zero
// activations) to a multiple of this.
inline int k_alignment(Family f, int kblock, int g) {
    switch (f) {
        case Family::tmad:
            return 4 * kblock;
        case Family::tadd:
            return 16 * kblock;
        case Family::tlut:
            return g * kblock;
        default:
            return 1;
    }
}

// tmad's weights per byte: four 2-bit codes, or five base-3 digits.
inline int codes_per_byte(bool base3) { return base3 ? 5 : 4; }

// Whether tmad sums the digit multiples t_s of base-3 bytes (one more
// accumulator per activation row) instead of extracting digits: with vpdpbusd
// quads, unless digits are decoded once per tile (see tmad_generator.cpp).
inline bool tmad_carries(bool base3, DotKind dot, bool decode) {
    return base3 && dot == DotKind::quad32u && !decode;
}

// Why tmad's knobs cannot go together, or nullptr if they can: the generator
// refuses such a combination and the tuner never proposes it.
inline const char* tmad_knob_conflict(DotKind dot, int unpack, int base3, int decode, int kblock,
                                      int chains, int m_tile) {
    if (decode && m_tile == 1) return "decode=1 needs m_tile > 1 (GEMM)";
    // Masked codes: 2-bit only; pair16's int16 blocks of codes read x4 hold 16
    // quads; signed sdot weights cannot be read in place.
    if (unpack == 1 &&
        (base3 || dot == DotKind::quad32s || (dot == DotKind::pair16 && kblock > 16)))
        return "unpack=1 needs base3=0 and dot=1 (quad32u), or dot=0 (pair16) with kblock <= 16";
    // Chains overlap the quad dot products' latency; K is padded to 4 * kblock.
    if (chains > 1 && (dot == DotKind::pair16 || kblock % chains))
        return "chains > 1 needs a quad dot kind (dot=1, 2) and kblock a multiple of chains";
    return nullptr;
}

// Rows per tile: N is padded to a multiple of this.
inline int row_tile(Family f, int lanes, bool base3 = false) {
    return f == Family::tmad ? codes_per_byte(base3) * lanes : lanes;
}

// Largest int16 block that cannot overflow, per family (see each generator).
inline int max_kblock(Family f, int g) {
    switch (f) {
        case Family::tmad:
            return 42;  // 42 * 2 * 3 * 128 < 32768
        case Family::tadd:
            return 15;  // 15 * 16 * 128 < 32768
        case Family::tlut:
            return 32767 / (g * 128);  // |table entry| <= g * 128
        default:
            return 0;
    }
}

}  // namespace tern
