// Choosing a bundle: the most capable one this CPU runs, or the one TERN_BUNDLE
// forces; clear errors for unknown and unrunnable bundles (also from Backend);
// per-shape plans from a manifest's tuned and generic kernels.
#include <gtest/gtest.h>

#include <cstdlib>

#include "error_of.h"
#include "tern/backend.h"
#include "tern/cpu.h"
#include "tern/error.h"
#include "tern/kernels.h"

namespace tern {
namespace {

using test::error_of;

TEST(Dispatch, DefaultBundleIsTheForcedOrTheMostCapableRunnable) {
    const char* forced = std::getenv("TERN_BUNDLE");
    bool known = false;
    for (const KernelSet& b : bundles()) known |= forced && b.target() == forced;
    if (forced && !known) {
        const std::string e = error_of([] { default_bundle(); });
        EXPECT_NE(e.find(std::string("TERN_BUNDLE: no bundle for target '") + forced + "'"),
                  std::string::npos)
            << e;
        return;
    }
    if (forced) {
        EXPECT_EQ(default_bundle().target(), forced);
        return;
    }
    for (const KernelSet& b : bundles()) {
        if (!b.runs_here()) continue;
        EXPECT_EQ(default_bundle().target(), b.target());
        return;
    }
    FAIL() << "no linked bundle runs here";
}

TEST(Dispatch, BundlesAreOrderedMostCapableFirst) {
    ASSERT_FALSE(bundles().empty());
    for (size_t i = 1; i < bundles().size(); ++i)
        EXPECT_GE(bundles()[i - 1].manifest().num_cpu_features,
                  bundles()[i].manifest().num_cpu_features);
}

TEST(Dispatch, UnknownBundleIsAnError) {
    const std::string b = error_of([] { Backend::create("x86-64-sse2"); });
    EXPECT_NE(b.find("no bundle for target 'x86-64-sse2'"), std::string::npos) << b;
    const std::string e = error_of([] { runnable_bundle("x86-64-sse2"); });
    EXPECT_NE(e.find("no bundle for target 'x86-64-sse2'"), std::string::npos) << e;
    EXPECT_NE(e.find(bundles().front().target()), std::string::npos) << e;
}

TEST(Dispatch, UnrunnableBundleIsAnErrorNamingWhatIsMissing) {
    int checked = 0;
    for (const KernelSet& b : bundles()) {
        const auto missing = b.missing_features();
        if (missing.empty()) continue;
        for (const std::string& e : {error_of([&] { runnable_bundle(b.target()); }),
                                     error_of([&] { Backend::create(b.target()); })}) {
            EXPECT_NE(e.find("cannot run on this CPU"), std::string::npos) << e;
            EXPECT_NE(e.find(missing.front()), std::string::npos) << e;
        }
        ++checked;
    }
    if (checked == 0) GTEST_SKIP() << "every linked bundle runs on this CPU";
}

TEST(CpuFeatures, MissingFeaturesNameArchitectureThenFeatures) {
    CpuInfo x86{"test CPU", "x86-64", "linux", {"avx2", "fma"}};
    EXPECT_EQ(missing_features("arm-64-linux-arm_dot_prod", {"asimddp"}, x86),
              std::vector<std::string>{"architecture arm-64"});
    EXPECT_EQ(missing_features("x86-64-osx-avx2", {"avx2"}, x86),
              std::vector<std::string>{"operating system of x86-64-osx-avx2"});
    EXPECT_EQ(missing_features("x86-64-linux-avx512", {"avx2", "avx512f", "avx512_vnni"}, x86),
              (std::vector<std::string>{"avx512f", "avx512_vnni"}));
    EXPECT_TRUE(missing_features("x86-64-linux-avx2", {"avx2", "fma"}, x86).empty());
}

TEST(CpuFeatures, HostRunsAtLeastOneBundle) {
    const CpuInfo& cpu = host_cpu();
    EXPECT_FALSE(cpu.arch.empty());
    bool any = false;
    for (const KernelSet& b : bundles()) any |= b.runs_here();
    EXPECT_TRUE(any) << cpu.model;
}

// A manifest with tuned entries, built from the real entry points of the first
// bundle (plan_linear only reads the table).
class Plan : public testing::Test {
protected:
    void SetUp() override {
        const BundleManifest& real = bundles().front().manifest();
        auto entry = real.kernels[0].entry;
        kernels_ = {
            {"tmad_gemv", "tmad", "", 0, 0, 0, 0, tmad8_, 5, entry, "a"},
            {"tmad_gemm", "tmad", "", 0, 0, 0, 0, tmad8_gemm_, 5, entry, "b"},
            {"tadd_gemv_64x32_t1", "tadd", "gemv", 64, 32, 1, 1, tadd_, 3, entry, "c"},
            {"tmad_gemv_64x32_t2", "tmad", "gemv", 64, 32, 1, 2, tmad16_, 5, entry, "d"},
            {"tmad_gemm_64x32_t1", "tmad", "gemm", 64, 32, 128, 1, tmad8_gemm_wide_, 5, entry, "e"},
            {"tmad_gemm_64x32_m4_t2", "tmad", "gemm", 64, 32, 4, 2, tmad16_batch_, 5, entry, "h"},
            {"tadd_gemm", "tadd", "", 0, 0, 0, 0, tadd_gemm_, 3, entry, "f"},
            {"tmad_gemv_96x32_t1", "tmad", "gemv", 96, 32, 1, 1, tmad4_, 5, entry, "g"},
            // Last, so that a manifest without them is a prefix of this one.
            {"tmad_b3_gemv", "tmad", "", 0, 0, 0, 0, tmad_b3_, 6, entry, "i"},
            {"tmad_b3_gemm", "tmad", "", 0, 0, 0, 0, tmad_b3_gemm_, 6, entry, "j"},
        };
        manifest_ = {"test",
                     real.halide_target,
                     nullptr,
                     0,
                     "none",
                     kernels_.data(),
                     static_cast<int>(kernels_.size())};
    }
    const BundleKnob tmad8_[5] = {
        {"lanes", 8}, {"kblock", 16}, {"dot", 0}, {"m_tile", 1}, {"unpack", 0}};
    const BundleKnob tmad8_gemm_[5] = {
        {"lanes", 8}, {"kblock", 16}, {"dot", 0}, {"m_tile", 2}, {"unpack", 0}};
    const BundleKnob tmad8_gemm_wide_[5] = {
        {"lanes", 16}, {"kblock", 16}, {"dot", 0}, {"m_tile", 4}, {"unpack", 0}};
    const BundleKnob tmad16_[5] = {
        {"lanes", 16}, {"kblock", 8}, {"dot", 0}, {"m_tile", 1}, {"unpack", 0}};
    const BundleKnob tmad16_batch_[5] = {
        {"lanes", 16}, {"kblock", 8}, {"dot", 0}, {"m_tile", 2}, {"unpack", 0}};
    const BundleKnob tmad4_[5] = {
        {"lanes", 4}, {"kblock", 16}, {"dot", 0}, {"m_tile", 1}, {"unpack", 0}};
    const BundleKnob tmad_b3_[6] = {{"lanes", 16}, {"kblock", 16}, {"dot", 1},
                                    {"m_tile", 1}, {"unpack", 0},  {"base3", 1}};
    const BundleKnob tmad_b3_gemm_[6] = {{"lanes", 16}, {"kblock", 16}, {"dot", 1},
                                         {"m_tile", 4}, {"unpack", 0},  {"base3", 1}};
    const BundleKnob tadd_[3] = {{"lanes", 16}, {"kblock", 4}, {"m_tile", 1}};
    const BundleKnob tadd_gemm_[3] = {{"lanes", 16}, {"kblock", 4}, {"m_tile", 4}};
    std::vector<BundleKernel> kernels_;
    BundleManifest manifest_{};
};

TEST_F(Plan, TunedShapeUsesTheKernelTunedNearestTheThreadCount) {
    const KernelSet set(manifest_);
    const LinearPlan one = set.plan_linear(64, 32, 1);
    EXPECT_EQ(one.gemv->name, "tadd_gemv_64x32_t1");
    EXPECT_EQ(one.gemm->name, "tadd_gemm");  // same layout as the GEMV kernel
    EXPECT_EQ(one.layout.family, Family::tadd);
    const LinearPlan two = set.plan_linear(64, 32, 4);
    EXPECT_EQ(two.gemv->name, "tmad_gemv_64x32_t2");
    // The tuned GEMM reads lanes 16 with kblock 16, the GEMV kblock 8: one
    // packing serves both, K padded to a multiple of 64.
    EXPECT_EQ(two.gemm->name, "tmad_gemm_64x32_t1");
    EXPECT_EQ(two.layout.k_align, 64);
    // At one thread the tuned tadd GEMV wins; the tmad GEMM cannot read its layout.
    EXPECT_NE(one.gemm->family, Family::tmad);
    // A GEMM tuned for a serving batch (m 4) serves 2 to 16 rows, the prompt GEMM
    // more, the GEMV one row; the tadd plan has no batch kernel of its layout.
    ASSERT_EQ(two.batch.size(), 1u);
    EXPECT_EQ(two.for_rows(1).name, "tmad_gemv_64x32_t2");
    EXPECT_EQ(two.for_rows(2).name, "tmad_gemm_64x32_m4_t2");
    EXPECT_EQ(two.for_rows(16).name, "tmad_gemm_64x32_m4_t2");
    EXPECT_EQ(two.for_rows(17).name, "tmad_gemm_64x32_t1");
    EXPECT_TRUE(one.batch.empty());
}

TEST_F(Plan, TunedGemvThatNoGemmCanReadGivesWayToTheGenericPair) {
    // Lanes 4: neither tuned nor generic tmad GEMM reads that layout, and
    // prompt processing through a GEMV kernel would be far slower.
    const KernelSet set(manifest_);
    const LinearPlan p = set.plan_linear(96, 32, 1);
    EXPECT_EQ(p.gemv->name, "tmad_gemv");
    EXPECT_EQ(p.gemm->name, "tmad_gemm");
}

TEST_F(Plan, UntunedShapeFallsBackToGenericKernels) {
    const KernelSet set(manifest_);
    const LinearPlan p = set.plan_linear(2560, 6912, 2);
    EXPECT_EQ(p.gemv->name, "tmad_gemv");
    EXPECT_EQ(p.gemm->name, "tmad_gemm");
    EXPECT_EQ(&p.for_rows(1), p.gemv);
    EXPECT_EQ(&p.for_rows(7), p.gemm);
}

TEST_F(Plan, ForcedWeightFormatKeepsToKernelsOfThatFormat) {
    const KernelSet set(manifest_);
    // Tuned kernels are all 2-bit: forcing 1.6 bits falls back to the generic
    // base-3 pair, whose GEMM reads the GEMV's layout.
    const LinearPlan b3 = set.plan_linear(64, 32, 2, WeightFormat::bits1_6);
    EXPECT_EQ(b3.gemv->name, "tmad_b3_gemv");
    EXPECT_EQ(b3.gemm->name, "tmad_b3_gemm");
    EXPECT_TRUE(b3.layout.base3);
    EXPECT_DOUBLE_EQ(b3.layout.bits_per_weight(), 1.6);
    EXPECT_TRUE(b3.batch.empty());  // the tuned batch GEMM reads 2-bit codes
    const LinearPlan two = set.plan_linear(64, 32, 2, WeightFormat::bits2);
    EXPECT_EQ(two.gemv->name, "tmad_gemv_64x32_t2");
    EXPECT_FALSE(two.layout.base3);
    EXPECT_EQ(set.plan_linear(2560, 6912, 2, WeightFormat::bits2).gemv->name, "tmad_gemv");

    BundleManifest without = manifest_;
    without.num_kernels -= 2;
    const KernelSet old(without);
    try {
        old.plan_linear(64, 32, 2, WeightFormat::bits1_6);
        FAIL() << "a bundle without base-3 kernels planned 1.6-bit weights";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("1.6-bit"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace tern
