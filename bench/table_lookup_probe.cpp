// Would a table lookup (bitnet.cpp's TL2 idea, T-MAC's) beat multiply-add on
// x86? A probe, not a kernel: hand-written GEMVs on the same ternary matrices,
// timed side by side, each checked exactly against a plain dot product first.
//
//   lookup (AVX2): groups of 3 weights folded by sign (27 patterns = 13 pairs
//     +-p and zero: a 4-bit index and a sign bit, 1.67 bits per weight). Per
//     group of 3 activations a 16-entry table of int16 partial sums, stored as a
//     16-byte table of low bytes and one of high bytes; per 32 rows and group:
//     two vpshufb, a byte mask from the sign bit that complements both bytes
//     (-e = ~e + 1: the +1s are counted per row when packing and added once),
//     two vpunpck into int16 rows. Two tiles of 32 rows share each table load;
//     K in blocks of 32 groups whose tables (1 KiB) stay in L1 while every tile
//     of a 256-row chunk passes over them.
//   lookup5 (AVX-512 VBMI, where the CPU has it): groups of 5 weights, one byte
//     each (1.6 bits per weight, as dense as TQ1_0): a 7-bit index into the 122
//     sign-folded patterns and the sign in bit 7. vpermi2b looks up 128-byte
//     tables for 64 rows at once; the activations are split (q = 16 qh + ql) so
//     that both tables are int8, summed in int8 over 3 groups, then joined by
//     pmaddubsw. Four tiles share each group's four table registers.
//   madd (AVX2): 2-bit codes (w + 1), vpmaddubsw on pairs of k, rows in int16
//     lanes, the activation sum subtracted at the end (tmad's pair16 idea).
//
// stream:1 reads a different matrix each call (about 1 GiB in all, in tern's
// AlignedBytes: on huge pages as its weights are), so weights come from memory
// as in generation; stream:0 reads one matrix again and again from cache: the
// loop's own speed.
// Compare with tern's kernels in the same run of kernels_bench (gemv_stream and
// gemv_cached rows of tmad_gemv and tmad_b3_gemv); its tmad kernels are faster
// than this madd loop.
//   table_lookup_probe [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "tern/ternary.h"

namespace {

constexpr int kPrefetch = 4096;  // bytes ahead of the tile-block being read
constexpr int kTile = 32;        // rows per tile
constexpr int kGroups = 32;      // groups of 3 per K block
constexpr int kChunk = 256;      // rows per chunk (tiles sharing one pass over the tables)
constexpr int kSignBytes = kGroups / 8 * kTile;                    // a sign bit per row and group
constexpr int kTileBlockBytes = kGroups / 2 * kTile + kSignBytes;  // 4-bit indices + signs

// int16 lane i of the low / high unpack holds the tile's row pos_lo(i) / pos_hi(i).
int pos_lo(int i) { return i < 8 ? i : i + 8; }
int pos_hi(int i) { return i < 8 ? i + 8 : i + 16; }

struct LookupMatrix {
    int n = 0, k = 0, blocks = 0;
    tern::AlignedBytes bytes;       // [chunk][block][tile in chunk][kTileBlockBytes]
    std::vector<int32_t> negative;  // per row: how many of its groups are stored negated
};

size_t tile_block_offset(const LookupMatrix& m, int tile, int block) {
    const int per_chunk = kChunk / kTile, chunk = tile / per_chunk;
    const int tiles_here = std::min(per_chunk, m.n / kTile - chunk * per_chunk);
    return ((static_cast<size_t>(chunk) * per_chunk * m.blocks) +
            static_cast<size_t>(block) * tiles_here + tile % per_chunk) *
           kTileBlockBytes;
}

// A tile-block: 16 vectors of 32 bytes (pair of groups 2p, 2p + 1: byte r holds row
// r's index for group 2p in its low nibble, for 2p + 1 in its high one), then 4
// vectors of sign bytes (vector w, byte r, bit 7 - i: group 8w + i of row r is
// negated).
LookupMatrix pack_lookup(const std::vector<int8_t>& w, int n, int k) {
    LookupMatrix m;
    m.n = n;
    m.k = k;
    m.blocks = ((k + 2) / 3 + kGroups - 1) / kGroups;
    m.bytes = tern::AlignedBytes(static_cast<size_t>(n / kTile) * m.blocks * kTileBlockBytes);
    m.negative.assign(n, 0);
    auto at = [&](int r, int c) { return c < k ? w[static_cast<size_t>(r) * k + c] : 0; };
    for (int t = 0; t < n / kTile; ++t)
        for (int b = 0; b < m.blocks; ++b) {
            uint8_t* p = m.bytes.data() + tile_block_offset(m, t, b);
            for (int g = 0; g < kGroups; ++g)
                for (int pos = 0; pos < kTile; ++pos) {
                    const int r = t * kTile + pos, c0 = 3 * (b * kGroups + g);
                    int code = 0;
                    for (int i = 2; i >= 0; --i) code = 3 * code + at(r, c0 + i) + 1;
                    const bool negated = code > 13;
                    if (negated) code = 26 - code;
                    p[g / 2 * kTile + pos] |= static_cast<uint8_t>(code << (4 * (g % 2)));
                    if (!negated) continue;
                    p[kGroups / 2 * kTile + g / 8 * kTile + pos] |=
                        static_cast<uint8_t>(0x80u >> (g % 8));
                    ++m.negative[r];
                }
        }
    return m;
}

// Per group 32 bytes: the int16 entries' low bytes, then their high bytes.
void build_tables(const int8_t* q, int k, int groups, uint8_t* tables) {
    for (int g = 0; g < groups; ++g)
        for (int idx = 0; idx < 16; ++idx) {
            int e = 0;
            for (int i = 0, c = idx; idx < 14 && i < 3; ++i, c /= 3)
                e += (c % 3 - 1) * (3 * g + i < k ? q[3 * g + i] : 0);
            tables[g * 32 + idx] = static_cast<uint8_t>(e & 255);
            tables[g * 32 + 16 + idx] = static_cast<uint8_t>(static_cast<int16_t>(e) >> 8);
        }
}

// One group for 32 rows: two vpshufb (low and high bytes of the int16 entries),
// the sign applied to both bytes as a complement (-e = ~e + 1: the +1s are the
// row's `negative` count, added once at the end), two vpunpck into int16 rows.
inline void lookup_group(__m256i idx, __m256i table_lo, __m256i table_hi, __m256i& sign,
                         __m256i& acc_lo, __m256i& acc_hi) {
    const __m256i lo = _mm256_shuffle_epi8(table_lo, idx), hi = _mm256_shuffle_epi8(table_hi, idx);
    const __m256i neg = _mm256_cmpgt_epi8(_mm256_setzero_si256(), sign);
    sign = _mm256_add_epi8(sign, sign);
    const __m256i l = _mm256_xor_si256(lo, neg), h = _mm256_xor_si256(hi, neg);
    acc_lo = _mm256_add_epi16(acc_lo, _mm256_unpacklo_epi8(l, h));
    acc_hi = _mm256_add_epi16(acc_hi, _mm256_unpackhi_epi8(l, h));
}

inline __m256i table_half(const uint8_t* table) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table)));
}

// Two tiles at once share each group's table loads.
inline void lookup_tiles(const uint8_t* p0, const uint8_t* p1, const uint8_t* tb, __m256i* acc) {
    const __m256i nibbles = _mm256_set1_epi8(15);
    for (int w = 0; w < kGroups / 8; ++w) {
        const int sign_at = kGroups / 2 * kTile + w * kTile;
        __m256i s0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0 + sign_at));
        __m256i s1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p1 + sign_at));
        for (int pair = 4 * w; pair < 4 * w + 4; ++pair) {
            const __m256i v0 =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0 + pair * kTile));
            const __m256i v1 =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p1 + pair * kTile));
            const uint8_t* t = tb + 64 * pair;
            __m256i lo = table_half(t), hi = table_half(t + 16);
            lookup_group(_mm256_and_si256(v0, nibbles), lo, hi, s0, acc[0], acc[1]);
            lookup_group(_mm256_and_si256(v1, nibbles), lo, hi, s1, acc[2], acc[3]);
            lo = table_half(t + 32);
            hi = table_half(t + 48);
            lookup_group(_mm256_and_si256(_mm256_srli_epi16(v0, 4), nibbles), lo, hi, s0, acc[0],
                         acc[1]);
            lookup_group(_mm256_and_si256(_mm256_srli_epi16(v1, 4), nibbles), lo, hi, s1, acc[2],
                         acc[3]);
        }
    }
}

void gemv_lookup(const LookupMatrix& m, const uint8_t* tables, int32_t* y) {
    const int per_chunk = kChunk / kTile;
    alignas(32) int32_t acc[kChunk];
    for (int chunk = 0; chunk * per_chunk < m.n / kTile; ++chunk) {
        const int tiles = std::min(per_chunk, m.n / kTile - chunk * per_chunk);
        std::memset(acc, 0, sizeof acc);
        for (int b = 0; b < m.blocks; ++b) {
            const uint8_t* tb = tables + static_cast<size_t>(b) * kGroups * 32;
            for (int t = 0; t < tiles; t += 2) {  // chunks hold an even number of tiles
                const uint8_t* p = m.bytes.data() + tile_block_offset(m, chunk * per_chunk + t, b);
                for (int line = 0; line < 2 * kTileBlockBytes; line += 64)
                    _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetch + line), _MM_HINT_T0);
                __m256i sum16[4] = {};
                lookup_tiles(p, p + kTileBlockBytes, tb, sum16);
                for (int h = 0; h < 8; ++h) {
                    const __m256i v = sum16[h / 2];
                    const __m256i s = _mm256_cvtepi16_epi32(h % 2 ? _mm256_extracti128_si256(v, 1)
                                                                  : _mm256_castsi256_si128(v));
                    auto* a = reinterpret_cast<__m256i*>(acc + t * kTile + 8 * h);
                    _mm256_store_si256(a, _mm256_add_epi32(_mm256_load_si256(a), s));
                }
            }
        }
        for (int t = 0; t < tiles; ++t)
            for (int i = 0; i < 16; ++i) {  // acc_lo's lanes, then acc_hi's
                const int r0 = (chunk * per_chunk + t) * kTile;
                y[r0 + pos_lo(i)] = acc[t * kTile + i] + m.negative[r0 + pos_lo(i)];
                y[r0 + pos_hi(i)] = acc[t * kTile + 16 + i] + m.negative[r0 + pos_hi(i)];
            }
    }
}

// 2-bit codes: byte (tile, k / 8, 2 r + e) holds codes of row r for k = 8 (k / 8) + 2 j + e
// in bits 2j..2j+1, j = 0..3; 16 rows per tile.
tern::AlignedBytes pack_madd(const std::vector<int8_t>& w, int n, int k) {
    tern::AlignedBytes bytes(static_cast<size_t>(n) * k / 4);
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < k; ++c) {
            const int t = r / 16, j = (c % 8) / 2, e = c % 2;
            bytes.data()[(static_cast<size_t>(t) * (k / 8) + c / 8) * 32 + 2 * (r % 16) + e] |=
                static_cast<uint8_t>((w[static_cast<size_t>(r) * k + c] + 1) << (2 * j));
        }
    return bytes;
}

void gemv_madd(const uint8_t* bytes, int n, int k, const int8_t* q, int32_t q_sum, int32_t* y) {
    const __m256i three = _mm256_set1_epi8(3);
    const auto* pairs = reinterpret_cast<const int16_t*>(q);
    for (int t = 0; t < n / 16; ++t) {
        const uint8_t* p = bytes + static_cast<size_t>(t) * (k / 8) * 32;
        __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
        for (int k0 = 0; k0 < k / 8; k0 += 32) {  // int16 blocks of 32 * 8 k
            __m256i acc = _mm256_setzero_si256();
            for (int k8 = k0; k8 < std::min(k / 8, k0 + 32); ++k8) {
                const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k8 * 32));
                for (int j = 0; j < 4; ++j) {
                    const __m256i codes = _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), three);
                    acc = _mm256_add_epi16(
                        acc, _mm256_maddubs_epi16(codes, _mm256_set1_epi16(pairs[k8 * 4 + j])));
                }
            }
            lo = _mm256_add_epi32(lo, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc)));
            hi = _mm256_add_epi32(hi, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc, 1)));
        }
        const __m256i s = _mm256_set1_epi32(q_sum);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + 16 * t), _mm256_sub_epi32(lo, s));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + 16 * t + 8), _mm256_sub_epi32(hi, s));
    }
}

// --- AVX-512 VBMI: groups of 5 weights, one byte each (1.6 bits per weight) ---
//
// The byte is the group's base-3 pattern folded by sign: 243 patterns are 121
// pairs +-p and zero, a 7-bit index and the sign in bit 7. vpermi2b looks up
// 128-byte tables, 64 rows per instruction, and ignores bit 7. Entries reach
// 5 * 128 (int16), so the activations are split, q = 16 qh + ql with ql in
// [-8, 7] and qh in [-8, 8]: two int8 tables per group, |entry| <= 40, three
// groups summed in int8, then joined (l + 16 h) into int16 by pmaddubsw.
constexpr int kTile5 = 64;                       // rows per tile
constexpr int kGroups5 = 24;                     // groups of 5 per K block
constexpr int kBlockBytes5 = kGroups5 * kTile5;  // one tile-block
constexpr int kTiles5 = 4;                       // tiles sharing one pass over a block's tables
constexpr int kPrefetch5 =
    12288;  // bytes ahead into L1 (two blocks of kTiles5 tiles); 4x that into L2

struct Lookup5Matrix {
    int n = 0, k = 0, blocks = 0;
    tern::AlignedBytes bytes;  // [tile group of kTiles5][block][tile][group][row]
};

Lookup5Matrix pack_lookup5(const std::vector<int8_t>& w, int n, int k) {
    Lookup5Matrix m;
    m.n = n;
    m.k = k;
    m.blocks = ((k + 4) / 5 + kGroups5 - 1) / kGroups5;
    m.bytes = tern::AlignedBytes(static_cast<size_t>(n / kTile5) * m.blocks * kBlockBytes5);
    auto at = [&](int r, int c) { return c < k ? w[static_cast<size_t>(r) * k + c] : 0; };
    for (int t = 0; t < n / kTile5; ++t)
        for (int b = 0; b < m.blocks; ++b)
            for (int g = 0; g < kGroups5; ++g)
                for (int pos = 0; pos < kTile5; ++pos) {
                    const int r = t * kTile5 + pos, c0 = 5 * (b * kGroups5 + g);
                    int code = 0;
                    for (int i = 4; i >= 0; --i) code = 3 * code + at(r, c0 + i) + 1;
                    const int byte = code > 121 ? 0x80 | (242 - code) : code;
                    const size_t at_tile =
                        (static_cast<size_t>(t / kTiles5) * m.blocks + b) * kTiles5 + t % kTiles5;
                    m.bytes.data()[(at_tile * kGroups5 + g) * kTile5 + pos] =
                        static_cast<uint8_t>(byte);
                }
    return m;
}

// Per group 256 bytes: the ql table (128), then the qh table (128).
void build_tables5(const int8_t* q, int k, int groups, int8_t* tables) {
    for (int g = 0; g < groups; ++g) {
        int lo[5], hi[5];
        for (int i = 0; i < 5; ++i) {
            const int v = 5 * g + i < k ? q[5 * g + i] : 0;
            lo[i] = ((v + 8) & 15) - 8;
            hi[i] = (v - lo[i]) / 16;
        }
        for (int code = 0; code < 128; ++code) {
            int el = 0, eh = 0;
            for (int i = 0, c = code; code < 122 && i < 5; ++i, c /= 3) {
                el += (c % 3 - 1) * lo[i];
                eh += (c % 3 - 1) * hi[i];
            }
            tables[g * 256 + code] = static_cast<int8_t>(el);
            tables[g * 256 + 128 + code] = static_cast<int8_t>(eh);
        }
    }
}

#define TERN_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))
// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized when inlined here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// A group's four table registers are loaded once for all kTiles5 tiles.
TERN_VBMI inline void lookup5_group(const uint8_t* p, const int8_t* table, __m512i* l8,
                                    __m512i* h8) {
    const __m512i* t = reinterpret_cast<const __m512i*>(table);
    const __m512i l0 = _mm512_loadu_si512(t), l1 = _mm512_loadu_si512(t + 1);
    const __m512i h0 = _mm512_loadu_si512(t + 2), h1 = _mm512_loadu_si512(t + 3);
    for (int i = 0; i < kTiles5; ++i) {
        const __m512i idx = _mm512_loadu_si512(p + i * kBlockBytes5);
        const __mmask64 neg = _mm512_movepi8_mask(idx);
        const __m512i l = _mm512_permutex2var_epi8(l0, idx, l1);
        const __m512i h = _mm512_permutex2var_epi8(h0, idx, h1);
        l8[i] = _mm512_add_epi8(l8[i], _mm512_mask_sub_epi8(l, neg, _mm512_setzero_si512(), l));
        h8[i] = _mm512_add_epi8(h8[i], _mm512_mask_sub_epi8(h, neg, _mm512_setzero_si512(), h));
    }
}

// int16 lane i of the low / high unpack holds the tile's row pos5_lo(i) / pos5_hi(i).
int pos5_lo(int i) { return i / 8 * 16 + i % 8; }
int pos5_hi(int i) { return i / 8 * 16 + 8 + i % 8; }

TERN_VBMI void gemv_lookup5(const Lookup5Matrix& m, const int8_t* tables, int32_t* y) {
    const __m512i join = _mm512_set1_epi16(16 << 8 | 1);  // bytes (1, 16): l + 16 h
    const int tiles = m.n / kTile5;
    alignas(64) int32_t acc[kTiles5 * kTile5];
    for (int t0 = 0; t0 < tiles; t0 += kTiles5) {
        std::memset(acc, 0, sizeof acc);
        for (int b = 0; b < m.blocks; ++b) {
            const int8_t* tb = tables + static_cast<size_t>(b) * kGroups5 * 256;
            const uint8_t* p = m.bytes.data() + (static_cast<size_t>(t0 / kTiles5) * m.blocks + b) *
                                                    kTiles5 * kBlockBytes5;
            __m512i s_lo[kTiles5], s_hi[kTiles5];
            for (int t = 0; t < kTiles5; ++t) s_lo[t] = s_hi[t] = _mm512_setzero_si512();
            for (int g = 0; g < kGroups5; g += 3) {
                // The prefetches spread over the block: 1/8 of it per step of 3 groups.
                constexpr int kStep = kTiles5 * kBlockBytes5 / (kGroups5 / 3);
                for (int line = 0; line < kStep; line += 64) {
                    _mm_prefetch(
                        reinterpret_cast<const char*>(p + kPrefetch5 + g / 3 * kStep + line),
                        _MM_HINT_T0);
                    _mm_prefetch(
                        reinterpret_cast<const char*>(p + 4 * kPrefetch5 + g / 3 * kStep + line),
                        _MM_HINT_T1);
                }
                __m512i l8[kTiles5], h8[kTiles5];
                for (int t = 0; t < kTiles5; ++t) l8[t] = h8[t] = _mm512_setzero_si512();
                for (int i = 0; i < 3; ++i)
                    lookup5_group(p + (g + i) * kTile5, tb + (g + i) * 256, l8, h8);
                for (int t = 0; t < kTiles5; ++t) {
                    s_lo[t] = _mm512_add_epi16(
                        s_lo[t], _mm512_maddubs_epi16(join, _mm512_unpacklo_epi8(l8[t], h8[t])));
                    s_hi[t] = _mm512_add_epi16(
                        s_hi[t], _mm512_maddubs_epi16(join, _mm512_unpackhi_epi8(l8[t], h8[t])));
                }
            }
            for (int t = 0; t < kTiles5; ++t)
                for (int h = 0; h < 4; ++h) {
                    const __m512i v = h < 2 ? s_lo[t] : s_hi[t];
                    const __m512i wide = _mm512_cvtepi16_epi32(
                        h % 2 ? _mm512_extracti64x4_epi64(v, 1) : _mm512_castsi512_si256(v));
                    auto* a = reinterpret_cast<__m512i*>(acc + t * kTile5 + 16 * h);
                    _mm512_store_si512(a, _mm512_add_epi32(_mm512_load_si512(a), wide));
                }
        }
        for (int t = 0; t < kTiles5; ++t)
            for (int i = 0; i < 32; ++i) {  // s_lo's lanes, then s_hi's
                const int r0 = (t0 + t) * kTile5;
                y[r0 + pos5_lo(i)] = acc[t * kTile5 + i];
                y[r0 + pos5_hi(i)] = acc[t * kTile5 + 32 + i];
            }
    }
}

#pragma GCC diagnostic pop

struct Problem {
    int n, k;
    std::vector<int8_t> q;
    int32_t q_sum = 0;
    std::vector<uint8_t> tables;
    std::vector<LookupMatrix> lookup;
    std::vector<tern::AlignedBytes> madd;
    std::vector<int8_t> tables5;
    std::vector<Lookup5Matrix> lookup5;  // only where the CPU has AVX-512 VBMI
};

// `mats` matrices of about 1 GiB in all, so each GEMV reads its weights from memory.
Problem& problem(int n, int k) {
    static std::vector<std::unique_ptr<Problem>> made;
    for (auto& p : made)
        if (p->n == n && p->k == k) return *p;
    // Whole groups of kTiles5 64-row tiles (which are also pairs of 32-row tiles
    // and 16-row madd tiles), and whole bytes of 2-bit codes in K.
    if (n % (kTile5 * kTiles5) != 0 || k % 8 != 0) {
        std::fprintf(stderr, "shape %dx%d: N must be a multiple of %d, K of 8\n", k, n,
                     kTile5 * kTiles5);
        std::abort();
    }
    auto p = std::make_unique<Problem>();
    p->n = n;
    p->k = k;
    std::mt19937 rng(1);
    p->q.resize(k);
    for (auto& v : p->q) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    for (int8_t v : p->q) p->q_sum += v;
    const int mats =
        std::max(4, static_cast<int>((size_t{1} << 30) / (static_cast<size_t>(n) * k / 4)));
    std::vector<int8_t> w(static_cast<size_t>(n) * k);
    const bool vbmi = __builtin_cpu_supports("avx512vbmi");
    for (int i = 0; i < mats; ++i) {
        for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
        p->lookup.push_back(pack_lookup(w, n, k));
        p->madd.push_back(pack_madd(w, n, k));
        if (vbmi) p->lookup5.push_back(pack_lookup5(w, n, k));
        if (i > 0) continue;
        // Both kernels must equal a plain dot product before anything is timed.
        std::vector<int32_t> want(n), got(n);
        for (int r = 0; r < n; ++r)
            for (int c = 0; c < k; ++c) want[r] += w[static_cast<size_t>(r) * k + c] * p->q[c];
        p->tables.resize(static_cast<size_t>(p->lookup[0].blocks) * kGroups * 32);
        build_tables(p->q.data(), k, p->lookup[0].blocks * kGroups, p->tables.data());
        gemv_lookup(p->lookup[0], p->tables.data(), got.data());
        if (got != want) std::fprintf(stderr, "lookup GEMV %dx%d is wrong\n", k, n), std::abort();
        gemv_madd(p->madd[0].data(), n, k, p->q.data(), p->q_sum, got.data());
        if (got != want) std::fprintf(stderr, "madd GEMV %dx%d is wrong\n", k, n), std::abort();
        if (!vbmi) continue;
        p->tables5.resize(static_cast<size_t>(p->lookup5[0].blocks) * kGroups5 * 256);
        build_tables5(p->q.data(), k, p->lookup5[0].blocks * kGroups5, p->tables5.data());
        gemv_lookup5(p->lookup5[0], p->tables5.data(), got.data());
        if (got != want) std::fprintf(stderr, "lookup5 GEMV %dx%d is wrong\n", k, n), std::abort();
    }
    made.push_back(std::move(p));
    return *made.back();
}

void set_counters(benchmark::State& state, size_t bytes_per_call) {
    state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes_per_call),
                                                benchmark::Counter::kIsIterationInvariantRate);
    state.counters["bits/weight"] =
        8.0 * bytes_per_call / (static_cast<double>(state.range(0)) * state.range(1));
}

Problem& problem_of(const benchmark::State& state) {
    return problem(static_cast<int>(state.range(1)), static_cast<int>(state.range(0)));
}

// stream = 1: a different matrix each call (weights from memory, as in
// generation); 0: one matrix again and again (from cache: the loop's own speed).
template <typename Matrix, typename Gemv>
void run(benchmark::State& state, const std::vector<Matrix>& mats, size_t bytes, Gemv gemv) {
    const size_t count = state.range(2) ? mats.size() : 1;
    std::vector<int32_t> y(static_cast<size_t>(state.range(1)));
    size_t i = 0;
    for (auto _ : state) {
        gemv(mats[i++ % count], y.data());
        benchmark::DoNotOptimize(y.data());
    }
    set_counters(state, bytes);
}

void lookup(benchmark::State& state) {
    Problem& p = problem_of(state);
    run(state, p.lookup, p.lookup[0].bytes.size(),
        [&](const LookupMatrix& m, int32_t* y) { gemv_lookup(m, p.tables.data(), y); });
}

void lookup5(benchmark::State& state) {
    Problem& p = problem_of(state);
    if (p.lookup5.empty()) return state.SkipWithError("this CPU has no AVX-512 VBMI");
    run(state, p.lookup5, p.lookup5[0].bytes.size(),
        [&](const Lookup5Matrix& m, int32_t* y) { gemv_lookup5(m, p.tables5.data(), y); });
}

void madd(benchmark::State& state) {
    Problem& p = problem_of(state);
    run(state, p.madd, p.madd[0].size(), [&](const tern::AlignedBytes& m, int32_t* y) {
        gemv_madd(m.data(), p.n, p.k, p.q.data(), p.q_sum, y);
    });
}

// K x N: 2B4T's gate/up and down shapes, streamed and cached.
void shapes(benchmark::internal::Benchmark* b) {
    for (int stream : {1, 0}) b->Args({2592, 6912, stream})->Args({6912, 2560, stream});
    b->ArgNames({"k", "n", "stream"})->Unit(benchmark::kMicrosecond);
}
BENCHMARK(lookup)->Apply(shapes);
BENCHMARK(lookup5)->Apply(shapes);
BENCHMARK(madd)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
