// Packing into every family's layout is lossless and pads with zero weights.
#include <gtest/gtest.h>

#include <cstring>

#include "tern/error.h"
#include "tern/kernels.h"
#include "test_data.h"

namespace tern {
namespace {

TEST(Packing, RoundTripsEveryLayout) {
    for (Family f : {Family::tmad, Family::tadd, Family::tlut}) {
        const std::vector<Knob> space = knob_space(f);
        ASSERT_EQ(space[0].name, "lanes");
        for (int lanes : space[0].values) {
            for (int g : {2, 3, 5}) {
                // g 5 stands for tmad's base-3 bytes.
                if ((f == Family::tlut) == (g == 5) || (f == Family::tadd && g != 2)) continue;
                Layout l{f, lanes, g == 5 ? 2 : g, k_alignment(f, 8, g), g == 5};
                for (auto [n, k] : {std::pair{1, 1}, {33, 100}, {64, 256}, {7, 1000}}) {
                    const TernaryMatrix m = test::random_ternary(n, k, n * 31 + k);
                    const PackedMatrix p = pack(m, l);
                    EXPECT_EQ(p.n_pad % l.row_tile(), 0);
                    EXPECT_EQ(p.k_pad % l.k_align, 0);
                    const TernaryMatrix back = unpack(p);
                    ASSERT_EQ(back.w, m.w) << l.describe() << " n=" << n << " k=" << k;
                    EXPECT_EQ(back.scale, m.scale);
                }
            }
        }
    }
}

TEST(Packing, TmadCodesAreWeightPlusOne) {
    // One row tile, K = 4: byte 4j + b holds rows j, L + j, 2L + j, 3L + j.
    Layout l{Family::tmad, 8, 2, 4};
    TernaryMatrix m(32, 4);
    m.w[0 * 4 + 0] = 1;   // row 0 (s=0, j=0), k 0 -> code 2 in bits 0-1 of byte 0
    m.w[8 * 4 + 0] = -1;  // row 8 (s=1, j=0), k 0 -> code 0 in bits 2-3 of byte 0
    const PackedMatrix p = pack(m, l);
    EXPECT_EQ(p.data.data()[0], 2 | (0 << 2) | (1 << 4) | (1 << 6));
    EXPECT_EQ(p.data.data()[1], 0x55);  // all zero weights: code 1 everywhere
}

TEST(Packing, TmadBase3BytesHoldFiveDigits) {
    // One row tile of 5 * 8 rows, K = 4: byte 4j + b holds rows j, 8 + j, ..., 32 + j
    // as the base-3 number c_0 c_1 c_2 c_3 c_4 (c = w + 1), scaled to 256 / 243.
    Layout l{Family::tmad, 8, 2, 4, true};
    TernaryMatrix m(40, 4);
    m.w[0 * 4 + 0] = 1;    // row 0 (s=0): c_0 = 2
    m.w[16 * 4 + 0] = -1;  // row 16 (s=2): c_2 = 0
    const PackedMatrix p = pack(m, l);
    EXPECT_EQ(p.dims, (std::vector<int>{32, 1, 1}));
    const int index = 2 * 81 + 1 * 27 + 0 * 9 + 1 * 3 + 1;
    EXPECT_EQ(p.data.data()[0], (index * 256 + 242) / 243);
    EXPECT_EQ(p.data.data()[1], (121 * 256 + 242) / 243);  // all zero weights: code 1
    EXPECT_DOUBLE_EQ(l.bits_per_weight(), 1.6);
}

TEST(Packing, Base3DigitsComeOutOfTheTopOfEachMultiple) {
    // What the kernels rely on, for every byte the packer can write: with
    // t_0 = v and t_(s+1) = 3 t_s mod 256, digit s is floor(3 t_s / 256).
    for (int index = 0; index < 243; ++index) {
        unsigned t = (index * 256 + 242) / 243;
        ASSERT_LT(t, 256u);
        int rest = index;
        for (int s = 0, weight = 81; s < 5; ++s, weight /= 3) {
            ASSERT_EQ(static_cast<int>((3 * t) >> 8), rest / weight) << index << " digit " << s;
            rest %= weight;
            t = (3 * t) & 255;
        }
    }
}

// Matrices packed into slices of one buffer (as a model's layers are) equal
// matrices packed on their own, and keep the buffer alive.
TEST(Packing, SlicesOfOneBufferHoldWholeMatrices) {
    const Layout l{Family::tmad, 16, 2, 64, true};
    const TernaryMatrix a = test::random_ternary(100, 256, 1), b = test::random_ternary(80, 320, 2);
    const size_t bytes_a = packed_shape(l, a.n, a.k).bytes,
                 bytes_b = packed_shape(l, b.n, b.k).bytes;
    PackedMatrix pa, pb;
    {
        const AlignedBytes arena(bytes_a + bytes_b + 64);
        auto rows = [](const TernaryMatrix& m) {
            return [&m](int r, int8_t* out) { std::memcpy(out, &m.w[size_t(r) * m.k], m.k); };
        };
        pa = pack(a.n, a.k, a.scale, rows(a), l, arena.slice(0, bytes_a));
        pb = pack(b.n, b.k, b.scale, rows(b), l, arena.slice((bytes_a + 63) / 64 * 64, bytes_b));
        EXPECT_THROW(pack(a.n, a.k, a.scale, rows(a), l, arena.slice(0, bytes_a - 64)), Error);
        EXPECT_THROW(arena.slice(32, 64), Error);
    }
    EXPECT_EQ(unpack(pa).w, a.w);
    EXPECT_EQ(unpack(pb).w, b.w);
    EXPECT_EQ(std::memcmp(pa.data.data(), pack(a, l).data.data(), bytes_a), 0);
}

TEST(Packing, RowSourceFeedsThePacker) {
    // The entry point a GGUF decoder uses: rows on demand, never a whole matrix.
    int calls = 0;
    const PackedMatrix p = pack(
        10, 40, 2.0f,
        [&](int row, int8_t* out) {
            ++calls;
            for (int k = 0; k < 40; ++k) out[k] = static_cast<int8_t>((row + k) % 3 - 1);
        },
        default_bundle().kernel_for(Family::tmad, 1).layout());
    EXPECT_EQ(calls, 10);
    const TernaryMatrix back = unpack(p);
    for (int r = 0; r < 10; ++r)
        for (int k = 0; k < 40; ++k) ASSERT_EQ(back.at(r, k), (r + k) % 3 - 1);
}

}  // namespace
}  // namespace tern
