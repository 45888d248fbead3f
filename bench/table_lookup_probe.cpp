// Would a bitnet.cpp TL2-style table lookup beat multiply-add on AVX2? A probe,
// not a kernel: two hand-written AVX2 GEMVs on the same ternary matrices, timed
// side by side, each checked exactly against a plain dot product first.
//
//   lookup: groups of 3 weights folded by sign (27 patterns = 13 pairs +-p and
//     zero: a 4-bit index and a sign bit, 1.67 bits per weight). Per group of 3
//     activations a 16-entry table of int16 partial sums, stored as a 16-byte
//     table of low bytes and one of high bytes; per 32 rows and group: two
//     vpshufb, two vpunpck to int16, a sign mask from a bit (shift left, shift
//     right arithmetic) and a conditional negation ((v + m) ^ m) per half.
//     Rows in tiles of 32, K in blocks of 32 groups whose tables (1 KiB) stay in
//     L1 while every tile of a 256-row chunk passes over them.
//   madd: 2-bit codes (w + 1), vpmaddubsw on pairs of k, rows in int16 lanes,
//     the activation sum subtracted at the end (tmad's pair16 idea).
//
// Both stream `mats` distinct matrices so that weights come from memory, as in
// generation. tern's own tmad kernels are faster than this madd probe; the
// question is the ratio of the two inner loops on the machine at hand.
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

namespace {

constexpr int kTile = 32;    // rows per tile
constexpr int kGroups = 32;  // groups of 3 per K block
constexpr int kChunk = 256;  // rows per chunk (tiles sharing one pass over the tables)
constexpr int kTileBlockBytes = kGroups / 2 * kTile + 4 * 32;  // indices + sign words

// int16 lane i of the low / high unpack holds the tile's row pos_lo(i) / pos_hi(i).
int pos_lo(int i) { return i < 8 ? i : i + 8; }
int pos_hi(int i) { return i < 8 ? i + 8 : i + 16; }

struct LookupMatrix {
    int n = 0, k = 0, blocks = 0;
    std::vector<uint8_t> bytes;  // [chunk][block][tile in chunk][kTileBlockBytes]
};

size_t tile_block_offset(const LookupMatrix& m, int tile, int block) {
    const int per_chunk = kChunk / kTile, chunk = tile / per_chunk;
    const int tiles_here = std::min(per_chunk, m.n / kTile - chunk * per_chunk);
    return ((static_cast<size_t>(chunk) * per_chunk * m.blocks) +
            static_cast<size_t>(block) * tiles_here + tile % per_chunk) *
           kTileBlockBytes;
}

LookupMatrix pack_lookup(const std::vector<int8_t>& w, int n, int k) {
    LookupMatrix m;
    m.n = n;
    m.k = k;
    m.blocks = ((k + 2) / 3 + kGroups - 1) / kGroups;
    m.bytes.assign(static_cast<size_t>(n / kTile) * m.blocks * kTileBlockBytes, 0);
    auto at = [&](int r, int c) { return c < k ? w[static_cast<size_t>(r) * k + c] : 0; };
    for (int t = 0; t < n / kTile; ++t)
        for (int b = 0; b < m.blocks; ++b) {
            uint8_t* p = &m.bytes[tile_block_offset(m, t, b)];
            uint16_t sign[4 * 16] = {};  // [half][word][lane], copied in after the indices
            for (int g = 0; g < kGroups; ++g)
                for (int pos = 0; pos < kTile; ++pos) {
                    const int r = t * kTile + pos, c0 = 3 * (b * kGroups + g);
                    int code = 0;
                    for (int i = 2; i >= 0; --i) code = 3 * code + at(r, c0 + i) + 1;
                    const bool negative = code > 13;
                    if (negative) code = 26 - code;
                    p[g / 2 * kTile + pos] |= static_cast<uint8_t>(code << (4 * (g % 2)));
                    if (!negative) continue;
                    for (int i = 0; i < 16; ++i) {
                        const int half = pos_lo(i) == pos ? 0 : pos_hi(i) == pos ? 1 : -1;
                        if (half >= 0)
                            sign[(half * 2 + g / 16) * 16 + i] |=
                                static_cast<uint16_t>(1u << (15 - g % 16));
                    }
                }
            std::memcpy(p + kGroups / 2 * kTile, sign, sizeof sign);
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

template <int G>
inline void lookup_group(__m256i idx, const uint8_t* tables, __m256i sign_lo, __m256i sign_hi,
                         __m256i& acc_lo, __m256i& acc_hi) {
    const __m256i lo = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128(
                                               reinterpret_cast<const __m128i*>(tables + G * 32))),
                                           idx);
    const __m256i hi = _mm256_shuffle_epi8(
        _mm256_broadcastsi128_si256(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(tables + G * 32 + 16))),
        idx);
    const __m256i m_lo = _mm256_srai_epi16(_mm256_slli_epi16(sign_lo, G % 16), 15);
    const __m256i m_hi = _mm256_srai_epi16(_mm256_slli_epi16(sign_hi, G % 16), 15);
    const __m256i e_lo = _mm256_unpacklo_epi8(lo, hi), e_hi = _mm256_unpackhi_epi8(lo, hi);
    acc_lo = _mm256_add_epi16(acc_lo, _mm256_xor_si256(_mm256_add_epi16(e_lo, m_lo), m_lo));
    acc_hi = _mm256_add_epi16(acc_hi, _mm256_xor_si256(_mm256_add_epi16(e_hi, m_hi), m_hi));
}

template <int Word, int Pair = 0>
inline void lookup_pairs(const uint8_t* p, const uint8_t* tables, __m256i sign_lo, __m256i sign_hi,
                         __m256i& acc_lo, __m256i& acc_hi) {
    if constexpr (Pair < 8) {
        const __m256i nibbles = _mm256_set1_epi8(15);
        const __m256i v =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + (Word * 8 + Pair) * kTile));
        lookup_group<Word * 16 + 2 * Pair>(_mm256_and_si256(v, nibbles), tables, sign_lo, sign_hi,
                                           acc_lo, acc_hi);
        lookup_group<Word * 16 + 2 * Pair + 1>(_mm256_and_si256(_mm256_srli_epi16(v, 4), nibbles),
                                               tables, sign_lo, sign_hi, acc_lo, acc_hi);
        lookup_pairs<Word, Pair + 1>(p, tables, sign_lo, sign_hi, acc_lo, acc_hi);
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
            for (int t = 0; t < tiles; ++t) {
                const uint8_t* p = &m.bytes[tile_block_offset(m, chunk * per_chunk + t, b)];
                const auto* s = reinterpret_cast<const __m256i*>(p + kGroups / 2 * kTile);
                __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
                lookup_pairs<0>(p, tb, _mm256_loadu_si256(s + 0), _mm256_loadu_si256(s + 2), acc_lo,
                                acc_hi);
                lookup_pairs<1>(p, tb, _mm256_loadu_si256(s + 1), _mm256_loadu_si256(s + 3), acc_lo,
                                acc_hi);
                const __m256i sums[4] = {
                    _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc_lo)),
                    _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc_lo, 1)),
                    _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc_hi)),
                    _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc_hi, 1))};
                for (int h = 0; h < 4; ++h) {
                    auto* a = reinterpret_cast<__m256i*>(acc + t * kTile + 8 * h);
                    _mm256_store_si256(a, _mm256_add_epi32(_mm256_load_si256(a), sums[h]));
                }
            }
        }
        for (int t = 0; t < tiles; ++t)
            for (int i = 0; i < 16; ++i) {  // acc_lo's lanes, then acc_hi's
                int32_t* out = y + (chunk * per_chunk + t) * kTile;
                out[pos_lo(i)] = acc[t * kTile + i];
                out[pos_hi(i)] = acc[t * kTile + 16 + i];
            }
    }
}

// 2-bit codes: byte (tile, k / 8, 2 r + e) holds codes of row r for k = 8 (k / 8) + 2 j + e
// in bits 2j..2j+1, j = 0..3; 16 rows per tile.
std::vector<uint8_t> pack_madd(const std::vector<int8_t>& w, int n, int k) {
    std::vector<uint8_t> bytes(static_cast<size_t>(n) * k / 4, 0);
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < k; ++c) {
            const int t = r / 16, j = (c % 8) / 2, e = c % 2;
            bytes[(static_cast<size_t>(t) * (k / 8) + c / 8) * 32 + 2 * (r % 16) + e] |=
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

struct Problem {
    int n, k;
    std::vector<int8_t> q;
    int32_t q_sum = 0;
    std::vector<uint8_t> tables;
    std::vector<LookupMatrix> lookup;
    std::vector<std::vector<uint8_t>> madd;
};

// `mats` matrices of about 1 GiB in all, so each GEMV reads its weights from memory.
Problem& problem(int n, int k) {
    static std::vector<std::unique_ptr<Problem>> made;
    for (auto& p : made)
        if (p->n == n && p->k == k) return *p;
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
    for (int i = 0; i < mats; ++i) {
        for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
        p->lookup.push_back(pack_lookup(w, n, k));
        p->madd.push_back(pack_madd(w, n, k));
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

void lookup(benchmark::State& state) {
    Problem& p = problem(static_cast<int>(state.range(1)), static_cast<int>(state.range(0)));
    std::vector<int32_t> y(p.n);
    size_t i = 0;
    for (auto _ : state) {
        gemv_lookup(p.lookup[i++ % p.lookup.size()], p.tables.data(), y.data());
        benchmark::DoNotOptimize(y.data());
    }
    set_counters(state, p.lookup[0].bytes.size());
}

void madd(benchmark::State& state) {
    Problem& p = problem(static_cast<int>(state.range(1)), static_cast<int>(state.range(0)));
    std::vector<int32_t> y(p.n);
    size_t i = 0;
    for (auto _ : state) {
        gemv_madd(p.madd[i++ % p.madd.size()].data(), p.n, p.k, p.q.data(), p.q_sum, y.data());
        benchmark::DoNotOptimize(y.data());
    }
    set_counters(state, p.madd[0].size());
}

// K x N: 2B4T's gate/up and down shapes.
BENCHMARK(lookup)->Args({2592, 6912})->Args({6912, 2560})->Unit(benchmark::kMicrosecond);
BENCHMARK(madd)->Args({2592, 6912})->Args({6912, 2560})->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
