// The tuner's parts: verification rejects wrong kernels, the search never picks a
// rejected candidate, the search space only holds legal candidates, and schedule
// databases are read strictly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "HalideRuntime.h"
#include "measure.h"
#include "schedule_db.h"
#include "search.h"
#include "search_space.h"
#include "target_info.h"
#include "tern/error.h"
#include "tern/kernels.h"

namespace tern::tune {
namespace {

TargetInfo avx2_target() {
    for (const TargetInfo& t : load_targets(TERN_SOURCE_DIR "/targets"))
        if (t.name == "x86-64-avx2") return t;
    throw Error("no x86-64-avx2 target");
}

// A kernel that is right except for one output: what a miscompiled or wrongly
// scheduled candidate looks like from outside.
int off_by_one_tmad(void** args) {
    const int status = default_bundle().kernel("tmad_gemv").entry(args);
    auto* y = static_cast<halide_buffer_t*>(args[4]);
    reinterpret_cast<float*>(y->host)[5] += 1.0f;
    return status;
}

TEST(Verification, RejectsAWrongKernel) {
    Workload w({Op::gemv, 256, 64, 1, 1}, 0);
    EXPECT_EQ(w.verify(default_bundle().kernel("tmad_gemv")), "");
    KernelInfo wrong = default_bundle().kernel("tmad_gemv");
    wrong.entry = off_by_one_tmad;
    const std::string why = w.verify(wrong);
    EXPECT_NE(why.find("output (row 0, 5)"), std::string::npos) << why;
}

TEST(Search, NeverChoosesARejectedCandidate) {
    const TargetInfo target = avx2_target();
    const std::vector<Candidate> pool = enumerate(Family::tmad, Op::gemv, target);
    Workload w({Op::gemv, 128, 32, 1, 1}, 0);
    // Fake timings: candidates with unroll=1 are "fastest" but fail verification.
    const Evaluator evaluate = [](const Candidate& c, Workload&, double, int) {
        Trial t;
        t.candidate = c;
        t.status = c.knobs.at("unroll") == 1 ? "wrong result: test" : "ok";
        t.median_us = c.knobs.at("unroll") == 1 ? 1.0 : 10.0 + c.knobs.at("prefetch");
        return t;
    };
    SearchOptions options;
    // Long enough for the refinement to reach prefetch 0 under sanitizers on a
    // busy machine too (0.2 s once ended it at prefetch 2 there).
    options.budget_s = 1.0;
    const SearchResult r = search(w, pool, target, options, evaluate, nullptr);
    ASSERT_TRUE(r.best.has_value());
    EXPECT_NE(r.best->knobs.at("unroll"), 1);
    EXPECT_GT(r.rejected, 0);
    EXPECT_EQ(r.best->knobs.at("prefetch"), 0)
        << "the refinement should find the fastest legal value";
}

TEST(SearchSpace, HoldsOnlyLegalCandidates) {
    const TargetInfo target = avx2_target();
    for (Family f : {Family::tmad, Family::tadd, Family::tlut}) {
        for (Op op : {Op::gemv, Op::gemm}) {
            const auto pool = enumerate(f, op, target);
            ASSERT_FALSE(pool.empty()) << family_name(f);
            std::set<std::string> keys;
            std::set<int> base3_seen;
            for (const Candidate& c : pool) {
                EXPECT_TRUE(keys.insert(c.key()).second) << "duplicate " << c.key();
                EXPECT_EQ(op == Op::gemv, c.knobs.at("m_tile") == 1) << c.key();
                for (const auto& [name, value] : c.knobs)
                    EXPECT_TRUE(knob_value_is_legal(f, name, value)) << c.key();
                if (f == Family::tmad) {
                    EXPECT_EQ(c.knobs.at("dot"), 0) << "AVX2 has only pair16: " << c.key();
                    if (c.knobs.at("unpack") == 1) {
                        EXPECT_LE(c.knobs.at("kblock"), 16) << c.key();
                        EXPECT_EQ(c.knobs.at("base3"), 0) << "in-place unpack is 2-bit only";
                    }
                    // int16 blocks have no dot-product latency to overlap.
                    EXPECT_EQ(c.knobs.at("chains"), 1) << c.key();
                    // Decoding a tile once pays only when several rows read it.
                    if (c.knobs.at("decode") == 1) {
                        EXPECT_GT(c.knobs.at("m_tile"), 1) << c.key();
                    }
                    base3_seen.insert(c.knobs.at("base3"));
                }
            }
            // Both weight forms are searched for every tmad op.
            if (f == Family::tmad) {
                EXPECT_EQ(base3_seen.size(), 2u);
            }
            for (const Candidate& n : neighbours(pool[pool.size() / 2], op, target))
                EXPECT_TRUE(keys.count(n.key())) << "neighbour outside the space: " << n.key();
        }
    }
}

TEST(SearchSpace, KeepsTheTargetsTmadLanes) {
    // The VNNI target allows only 512-bit tmad (see targets/x86-64-avx512-vnni.yaml):
    // narrower dot products would be AVX-VNNI instructions the target does not name.
    for (const TargetInfo& t : load_targets(TERN_SOURCE_DIR "/targets")) {
        if (t.name != "x86-64-avx512-vnni") continue;
        ASSERT_EQ(t.tmad_lanes, std::vector<int>{16});
        for (Op op : {Op::gemv, Op::gemm}) {
            const auto pool = enumerate(Family::tmad, op, t);
            ASSERT_FALSE(pool.empty());
            for (const Candidate& c : pool) EXPECT_EQ(c.knobs.at("lanes"), 16) << c.key();
            for (const Candidate& n : neighbours(pool.front(), op, t))
                EXPECT_EQ(n.knobs.at("lanes"), 16) << n.key();
        }
        return;
    }
    FAIL() << "no x86-64-avx512-vnni target";
}

TEST(SearchSpace, KeepsVectorsWithinTheTargetsWidth) {
    // The AVX-VNNI target is compiled for an LLVM CPU without AVX-512: no family
    // may use a vector wider than 256 bits there, and tuning it needs the
    // features of the Halide target its candidates are JIT-compiled for.
    for (const TargetInfo& t : load_targets(TERN_SOURCE_DIR "/targets")) {
        if (t.name != "x86-64-avxvnni") continue;
        ASSERT_EQ(t.vector_bits, 256);
        EXPECT_EQ(t.vector_registers, 16);
        EXPECT_EQ(t.llvm_cpu, "alderlake");
        for (Family f : {Family::tmad, Family::tadd, Family::tlut})
            for (Op op : {Op::gemv, Op::gemm}) {
                const auto pool = enumerate(f, op, t);
                ASSERT_FALSE(pool.empty()) << family_name(f);
                const int lane_bits = f == Family::tmad ? 32 : 16;
                for (const Candidate& c : pool) {
                    EXPECT_LE(c.knobs.at("lanes") * lane_bits, 256) << c.key();
                    // 16 ymm registers: at most 12 accumulators, so no base-3 tile of 3
                    // or more activation rows, or of 2 with two chains.
                    if (f == Family::tmad && c.knobs.at("base3") && c.knobs.at("dot") != 0) {
                        EXPECT_LE(c.knobs.at("m_tile") * c.knobs.at("chains"), 2) << c.key();
                    }
                }
            }
        HostCpu vnni_only;
        vnni_only.arch = "x86-64";
        vnni_only.os = "linux";
        vnni_only.features = {"avx", "avx2", "fma", "f16c", "sse4_1", "avx_vnni"};
        const auto missing = missing_features(t, vnni_only);
        EXPECT_NE(std::find(missing.begin(), missing.end(), "avx512_vnni"), missing.end());
        return;
    }
    FAIL() << "no x86-64-avxvnni target";
}

TEST(HostTarget, DetectsARunnableTarget) {
    const HostCpu cpu = detect_host_cpu();
    std::string why;
    const std::vector<TargetInfo> targets = load_targets(TERN_SOURCE_DIR "/targets");
    const TargetInfo& t = choose_host_target(targets, cpu, &why);
    EXPECT_TRUE(missing_features(t, cpu).empty());
    EXPECT_NE(why.find(cpu.model), std::string::npos);
    // The Apple target never runs on Linux.
    for (const TargetInfo& other : targets)
        if (other.name == "arm-64-osx-m2") {
            EXPECT_FALSE(missing_features(other, cpu).empty());
        }
}

// A database's kernels name complete, legal knob sets for its target, and it
// has every family a bundle needs, so the bundle builds from it.
void expect_legal_database(const TargetInfo& t, const ScheduleDb& db, const std::string& path) {
    EXPECT_EQ(db.target, t.name) << path;
    std::set<std::string> families;
    for (const DbEntry& e : db.kernels) {
        families.insert(e.family);
        Family f;
        if (!find_family(e.family, &f) ||
            (f != Family::tmad && f != Family::tlut && f != Family::tadd))
            continue;
        for (const Knob& k : knob_space(f)) {
            ASSERT_TRUE(e.knobs.count(k.name)) << path << " " << e.name << " lacks " << k.name;
            EXPECT_TRUE(knob_value_is_legal(f, k.name, e.knobs.at(k.name)))
                << path << " " << e.name;
        }
        EXPECT_EQ(e.knobs.size(), knob_space(f).size())
            << path << " " << e.name << ": unknown knob";
        if (f == Family::tmad) {
            const int dot = e.knobs.at("dot");
            EXPECT_NE(std::find(t.tmad_dot.begin(), t.tmad_dot.end(), dot), t.tmad_dot.end())
                << path << " " << e.name << ": dot " << dot << " is not one of the target's";
            const auto& lanes = t.tmad_lanes;
            EXPECT_TRUE(lanes.empty() ||
                        std::find(lanes.begin(), lanes.end(), e.knobs.at("lanes")) != lanes.end())
                << path << " " << e.name << ": lanes not one of the target's tmad_lanes";
        }
    }
    for (const char* needed : {"tmad", "tlut", "tadd", "rmsnorm_quant", "int8_gemv"})
        EXPECT_TRUE(families.count(needed)) << path << " has no " << needed << " kernel";
}

// Every target has a checked-in database, so every bundle builds without tuning.
TEST(CheckedInDefaults, EveryTargetHasALegalDatabase) {
    for (const TargetInfo& t : load_targets(TERN_SOURCE_DIR "/targets")) {
        const std::string path = TERN_SOURCE_DIR "/schedules/" + t.name + ".yaml";
        expect_legal_database(t, load_schedule_db(path), path);
    }
}

// The databases tuned on particular machines (schedules/tuned/) build too.
TEST(CheckedInDefaults, TunedDatabasesAreLegal) {
    const std::vector<TargetInfo> targets = load_targets(TERN_SOURCE_DIR "/targets");
    int checked = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(TERN_SOURCE_DIR "/schedules/tuned")) {
        if (entry.path().extension() != ".yaml") continue;
        const std::string path = entry.path().string();
        const ScheduleDb db = load_schedule_db(path);
        const auto t = std::find_if(targets.begin(), targets.end(),
                                    [&](const TargetInfo& x) { return x.name == db.target; });
        ASSERT_NE(t, targets.end()) << path << " names no known target: " << db.target;
        expect_legal_database(*t, db, path);
        ++checked;
    }
    EXPECT_GE(checked, 1);
}

class Databases : public testing::Test {
protected:
    std::string write(const std::string& text) {
        const std::string path = testing::TempDir() + "/db_" + std::to_string(counter_++) + ".yaml";
        std::ofstream(path) << text;
        return path;
    }
    void expect_error(const std::string& text, std::initializer_list<const char*> fragments) {
        const std::string path = write(text);
        try {
            load_schedule_db(path);
            FAIL() << "expected an error for:\n" << text;
        } catch (const Error& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find(path), std::string::npos) << msg;
            for (const char* f : fragments)
                EXPECT_NE(msg.find(f), std::string::npos) << msg << " lacks " << f;
        }
    }
    int counter_ = 0;
    const std::string header_ =
        "target: x86-64-avx2\nprovenance: {cpu: X, features: [avx2], halide: \"14.0.0\", tern: "
        "\"0.1.0\", "
        "date: \"2026-11-24\"}\n";
};

TEST_F(Databases, RoundTrips) {
    ScheduleDb db;
    db.target = "x86-64-avx2";
    db.provenance = {"CPU", {"avx2"}, "14.0.0", "0.1.0", "2026-11-24"};
    DbEntry e;
    e.name = "tmad_gemv_64x32_t1";
    e.family = "tmad";
    e.knobs = {{"lanes", 8}, {"kblock", 16}};
    e.op = "gemv";
    e.k = 64;
    e.n = 32;
    e.m = 1;
    e.threads = 1;
    e.median_us = 1.5;
    e.tried = 7;
    db.kernels.push_back(e);
    e.name = "tmad_gemv_64x32_t2";  // chosen inside a model (--in-model)
    e.threads = 2;
    e.model_us = 2.25;
    e.model_spread_pct = 4;
    db.kernels.push_back(e);
    const std::string path = testing::TempDir() + "/roundtrip.yaml";
    save_schedule_db(db, path);
    const ScheduleDb back = load_schedule_db(path);
    ASSERT_EQ(back.kernels.size(), 2u);
    EXPECT_EQ(back.kernels[0].knobs, e.knobs);
    EXPECT_EQ(back.kernels[0].median_us, 1.5);
    EXPECT_EQ(back.kernels[0].model_us, 0.0);
    EXPECT_EQ(back.kernels[1].model_us, 2.25);
    EXPECT_EQ(back.kernels[1].model_spread_pct, 4.0);
    EXPECT_NE(back.find("gemv", 64, 32, 1, 1), nullptr);
    EXPECT_NE(back.find("gemv", 64, 32, 1, 2), nullptr);
    EXPECT_EQ(back.find("gemv", 64, 32, 1, 3), nullptr);
    std::ifstream in(path + ".tmp");
    EXPECT_FALSE(in.good()) << "the temporary file must be renamed away";
}

TEST_F(Databases, MalformedFilesNameLineAndKey) {
    expect_error("target: [unclosed\n", {":2:", "end of sequence flow not found"});
    expect_error(header_ + "kernels:\n  - {name: a, family: tmad}\n",
                 {":4:", "missing key 'knobs'"});
    expect_error(header_ + "kernels:\n  - {name: a, family: tmad, knobs: {lanes: eight}}\n",
                 {":4:", "key 'knobs'", "wrong type"});
    expect_error(header_ + "kernels:\n  - {name: a, family: tmad, knobs: {}, op: gemx}\n",
                 {"'op' is 'gemx'"});
    expect_error("target: x86-64-avx2\nkernels: []\n", {"missing key 'provenance'"});
    expect_error(header_ + "kernels: 3\n", {"'kernels' must be a list"});
}

TEST_F(Databases, ForeignProvenanceIsReported) {
    const Provenance here{"AMD EPYC", {"avx2"}, "14.0.0", "0.1.0", "2026-11-24"};
    EXPECT_TRUE(provenance_mismatches(here, here).empty());
    Provenance other = here;
    other.cpu = "Apple M2";
    other.halide = "16.0.0";
    const auto m = provenance_mismatches(other, here);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_NE(m[0].find("Apple M2"), std::string::npos);
    EXPECT_NE(m[1].find("Halide 16.0.0"), std::string::npos);
}

}  // namespace
}  // namespace tern::tune
