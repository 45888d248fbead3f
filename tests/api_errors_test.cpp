// Bad arguments to the public kernel API and to the packer end in tern::Error
// with a message that names what was wrong.
#include <gtest/gtest.h>

#include "tern/error.h"
#include "tern/kernels.h"
#include "test_data.h"

namespace tern {
namespace {

// Expects fn() to throw tern::Error whose message contains every fragment.
template <typename Fn>
void expect_error(Fn fn, std::initializer_list<const char*> fragments) {
    try {
        fn();
        FAIL() << "expected tern::Error";
    } catch (const Error& e) {
        for (const char* f : fragments)
            EXPECT_NE(std::string(e.what()).find(f), std::string::npos)
                << "message '" << e.what() << "' lacks '" << f << "'";
    }
}

class ApiErrors : public testing::Test {
protected:
    const KernelSet& bundle = default_bundle();
    const KernelInfo& gemv = bundle.kernel_for(Family::tmad, 1);
    const KernelInfo& norm = bundle.kernel("rmsnorm_quant");
    TernaryMatrix w = test::random_ternary(64, 128, 1);
    PackedMatrix packed = pack(w, gemv.layout());
    std::vector<int8_t> q = test::random_int8(128 * 8, 2);
    std::vector<float> s = std::vector<float>(8, 0.1f);
    std::vector<float> y = std::vector<float>(64 * 8);
};

TEST_F(ApiErrors, NullBuffers) {
    expect_error([&] { ternary_linear(gemv, packed, nullptr, s.data(), 1, y.data()); },
                 {"ternary_linear", "q is null"});
    expect_error([&] { ternary_linear(gemv, packed, q.data(), nullptr, 1, y.data()); },
                 {"q_scale is null"});
    expect_error([&] { ternary_linear(gemv, packed, q.data(), s.data(), 1, nullptr); },
                 {"y is null"});
    PackedMatrix empty;
    expect_error([&] { ternary_linear(gemv, empty, q.data(), s.data(), 1, y.data()); },
                 {"packed weights is null"});
    expect_error(
        [&] { rmsnorm_quantize(norm, nullptr, s.data(), 8, 1, 1e-5f, q.data(), s.data()); },
        {"rmsnorm_quantize", "x is null"});
    const Int8Rows rows(bundle.kernel("int8_gemv"), 8, 16);
    expect_error([&] { int8_gemv(rows, nullptr, 1.0f, y.data()); }, {"int8_gemv", "q is null"});
    expect_error([&] { int8_gemv(Int8Rows(), q.data(), 1.0f, y.data()); },
                 {"int8_gemv", "rows are empty"});
}

TEST_F(ApiErrors, WrongLayout) {
    for (const KernelInfo& other : bundle.kernels()) {
        if (!other.is_ternary() || can_read(other, packed)) continue;
        const PackedMatrix p = pack(w, other.layout());
        const std::string reads = "kernel " + gemv.name + " reads [tmad";
        expect_error([&] { ternary_linear(gemv, p, q.data(), s.data(), 1, y.data()); },
                     {"packed as [", reads.c_str()});
    }
}

TEST_F(ApiErrors, MismatchedDimensions) {
    expect_error([&] { ternary_linear(gemv, packed, q.data(), s.data(), 0, y.data()); },
                 {"m_rows is 0"});
    // The GEMM that reads the GEMV's packing (the generic pair share one).
    const WeightFormat format = gemv.layout().base3 ? WeightFormat::bits1_6 : WeightFormat::bits2;
    const KernelInfo& gemm = *bundle.plan_linear(w.k, w.n, 1, format).gemm;
    ASSERT_GT(gemm.m_tile(), 1);
    ASSERT_TRUE(can_read(gemm, packed));
    expect_error(
        [&] { ternary_linear(gemm, packed, q.data(), s.data(), gemm.m_tile() - 1, y.data()); },
        {"computes tiles of"});
    expect_error([&] { Int8Rows(bundle.kernel("int8_gemv"), 8, 18); },
                 {"8 x 18 rows", "multiple of 4"});
    expect_error([&] { Int8Rows(bundle.kernel("int8_gemv"), 0, 16); }, {"0 x 16 rows"});
    const std::string not_int8 = gemv.name + " is not an int8_gemv kernel";
    expect_error([&] { Int8Rows(gemv, 8, 16); }, {not_int8.c_str()});
    const std::string not_int4 = gemv.name + " is not an int4_gemv kernel";
    expect_error([&] { Int4Rows(gemv, 8, 64); }, {not_int4.c_str()});
    expect_error([&] { Int4Rows(bundle.kernel("int4_gemv"), 8, 96); }, {"multiple of 64"});
    expect_error([&] { Int8Rows(bundle.kernel("int8_gemv"), 8, 16).set_row(8, q.data(), 1.0f); },
                 {"row 8 outside [0, 8)"});
    expect_error([&] { Int8Rows(bundle.kernel("int8_gemv"), 8, 16).set_kernel(gemv); },
                 {"set_kernel", gemv.name.c_str(), "does not read the layout of int8_gemv"});
    expect_error(
        [&] { rmsnorm_quantize(norm, y.data(), s.data(), 0, 1, 1e-5f, q.data(), s.data()); },
        {"k and m_rows must be positive"});
}

TEST_F(ApiErrors, UnknownKernel) {
    expect_error([&] { bundle.kernel("tmad_gemv_fast"); },
                 {"no kernel named 'tmad_gemv_fast'", "tmad_gemv"});
    expect_error([&] { gemv.knob("colour"); }, {"has no knob 'colour'"});
    expect_error(
        [&] { rmsnorm_quantize(gemv, y.data(), s.data(), 8, 1, 1e-5f, q.data(), s.data()); },
        {"is not an rmsnorm_quant kernel"});
}

TEST_F(ApiErrors, BadPacking) {
    TernaryMatrix bad = w;
    bad.w[5] = 2;
    expect_error([&] { pack(bad, gemv.layout()); }, {"weight (0, 5) is 2"});
    Layout l = gemv.layout();
    l.lanes = 5;
    expect_error([&] { pack(w, l); }, {"lanes 5 is not a legal value"});
    l = gemv.layout();
    l.k_align = 6;
    expect_error([&] { pack(w, l); }, {"k_align 6"});
    expect_error([&] { pack(TernaryMatrix(0, 4), gemv.layout()); }, {"positive size"});
}

}  // namespace
}  // namespace tern
