// tmad must reach the targets' integer dot-product instructions in its inner
// loop, and tlut's lookups the targets' table lookups; a schedule or lowering
// change that falls back to scalar, widening or gathering code fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace {

std::string read(const char* path) {
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

int count(const std::string& text, const std::string& pattern) {
    const std::regex re(pattern);
    return static_cast<int>(
        std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

// At least `at_least` instructions matching `used` in the assembly at `path`, and
// none matching `unused`.
void expect_instructions(const char* path, const std::string& used, int at_least,
                         const std::string& unused) {
    const std::string s = read(path);
    EXPECT_GE(count(s, used), at_least) << path;
    EXPECT_EQ(count(s, unused), 0) << path;
}

TEST(EmittedAssembly, Avx2UsesVectorMultiplyAdd) {
    const std::string s = read(ASM_AVX2);
    EXPECT_GE(count(s, R"(\bvpmaddubsw\s+%ymm)") + count(s, R"(\bvpmaddwd\s+%ymm)"), 4) << ASM_AVX2;
    // The pairwise products must not be widened to 16 bits and multiplied lane by lane.
    EXPECT_EQ(count(s, R"(\bvpmullw\b)"), 0) << ASM_AVX2;
}

// The int8 head's bytes, widened to int16, go straight into pmaddwd with the
// activations: no pmullw before a dot product with ones (select_dot_products.h).
TEST(EmittedAssembly, Int8HeadMultipliesInPmaddwd) {
    expect_instructions(ASM_INT8_AVX2, R"(\bvpmaddwd\s+%ymm)", 4, R"(\bvpmullw\b)");
}

TEST(EmittedAssembly, Avx512VnniUsesVpdpbusd) {
    const std::string s = read(ASM_VNNI);
    EXPECT_GE(count(s, R"(\bvpdpbusd\s+%zmm)"), 4) << ASM_VNNI;
}

// unpack=1 with vpdpbusd reads each code where it lies (x4^s), so no code is
// shifted down, and chains=2 keeps two sums per digit: eight dot products per
// step where the shifting kernel has four and three shifts.
TEST(EmittedAssembly, InPlaceCodesNeedNoShifts) {
    expect_instructions(ASM_INPLACE_VNNI, R"(\bvpdpbusd\s+%zmm)", 8, R"(\bvpsrlw\b)");
    EXPECT_GE(count(read(ASM_VNNI), R"(\bvpsrlw\b)"), 3) << ASM_VNNI;
}

TEST(EmittedAssembly, ArmDotProdUsesSdot) {
    const std::string s = read(ASM_NEON);
    EXPECT_GE(count(s, R"(\b[su]dot\s+v\d+\.4s)"), 4) << ASM_NEON;
}

// Scheduled prefetches keep their lines (cache_prefetch.h): Halide 14's own are
// prefetchnta, which halved GEMV streams on the Intel Xeon guest measured.
TEST(EmittedAssembly, PrefetchesKeepTheirLines) {
    expect_instructions(ASM_AVX2, R"(\bprefetcht0\b)", 1, R"(\bprefetchnta\b)");
    expect_instructions(ASM_NEON, R"(\bprfm\s+pldl1keep\b)", 1, R"(\bprfm\s+pldl1strm\b)");
}

// prefetch_l2 adds a prefetch into L2 further on to each (the AVX2 kernel has
// prefetch_l2=2), and without it there is none (the ARM kernel has 0).
TEST(EmittedAssembly, PrefetchL2AddsPrefetchesIntoL2) {
    const std::string avx2 = read(ASM_AVX2);
    EXPECT_GE(count(avx2, R"(\bprefetcht1\b)"), 1) << ASM_AVX2;
    EXPECT_EQ(count(avx2, R"(\bprefetcht1\b)"), count(avx2, R"(\bprefetcht0\b)")) << ASM_AVX2;
    expect_instructions(ASM_NEON, R"(\bprfm\s+pldl1keep\b)", 1, R"(\bprfm\s+pldl2keep\b)");
}

// Base-3 bytes: the same instructions. VNNI sums the multiples t_0..t_5 of each
// byte, six vpdpbusd per load; the others extract digits bounded by 2, which
// keeps pmaddubsw exact (no widening multiply of the products).
TEST(EmittedAssembly, Base3ReachesTheSameDotProducts) {
    const std::string avx2 = read(ASM_B3_AVX2);
    EXPECT_GE(count(avx2, R"(\bvpmaddubsw\s+%ymm)"), 5) << ASM_B3_AVX2;
    const std::string vnni = read(ASM_B3_VNNI);
    EXPECT_GE(count(vnni, R"(\bvpdpbusd\s+%zmm)"), 6) << ASM_B3_VNNI;
    EXPECT_EQ(count(vnni, R"(\bvpmaddubsw\b)"), 0) << ASM_B3_VNNI;
    const std::string neon = read(ASM_B3_NEON);
    EXPECT_GE(count(neon, R"(\b[su]dot\s+v\d+\.4s)"), 5) << ASM_B3_NEON;
}

// Base-3 digits on AVX2: two signed byte compares each (vpcmpgtb) on the byte
// with its top bit flipped, not unsigned max and compare-equal pairs (which
// took 50 vector instructions per 160 weights in the GEMV's loop; now 40).
TEST(EmittedAssembly, Base3DigitsAreSignedCompares) {
    expect_instructions(ASM_B3_AVX2, R"(\bvpcmpgtb\s)", 10, R"(\bvpm(ax|in)ub\b)");
}

// x86 has no byte multiply: the digit multiples t_s = 3^s v mod 256 are byte
// additions (generators/byte_triples.h), not bytes widened, multiplied in
// 16-bit lanes and shuffled back (vpmullw); AVX-512 base-3 GEMVs ran 1.7x slower
// cached that way on the Intel Xeon guest (2026-12-04).
TEST(EmittedAssembly, Base3MultiplesAreByteAdditions) {
    expect_instructions(ASM_B3_VNNI, R"(\bvpaddb\s+%zmm)", 10, R"(\bvpmullw\b)");
    expect_instructions(ASM_B3_AVX2, R"(\bvpaddb\s+%ymm)", 8, R"(\bvpmullw\b)");
}

// Codes decoded once per row tile and read back from memory (decode=1) are
// still multiplied in pairs: no widening multiply of the products.
TEST(EmittedAssembly, DecodedCodesReachVpmaddubsw) {
    expect_instructions(ASM_DECODE_AVX2, R"(\bvpmaddubsw\s+%ymm)", 8, R"(\bvpmullw\b)");
}

// Two lookups (low and high bytes of the entries) per group of rows: vpshufb on
// ymm, tbl on ARM, and no gather.
TEST(EmittedAssembly, TableLookupsUseShuffles) {
    expect_instructions(ASM_LUT_AVX2, R"(\bvpshufb\s+%ymm\d+, %ymm\d+, %ymm)", 2, R"(\bvpgather)");
    const std::string neon = read(ASM_LUT_NEON);
    EXPECT_GE(count(neon, R"(\btbl\s+v\d+\.16b)"), 2) << ASM_LUT_NEON;
}

}  // namespace
