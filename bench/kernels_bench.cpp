// Kernel benchmarks: every ternary kernel of the build at the BitNet b1.58 2B4T
// shapes, GEMV (decode) and GEMM (prompt processing), 1 and 2 threads, beside a
// memory read-bandwidth probe, so each row shows its share of the machine's
// bandwidth; and the int8 LM head kernel at 2B4T's vocabulary.
//
// Decode streams weights the way inference does: each call reads the next of
// enough distinct matrices to exceed the last-level cache many times over
// (2 GiB in all: with 512 MiB, a cyclic stream still hit the cache for a third of
// its reads here, as large or adaptive last-level caches keep part of a cyclic
// working set). "cached" rows repeat one matrix and measure the cache instead.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "table_reporter.h"
#include "tern/kernels.h"
#include "tern/read_bandwidth.h"
#include "tern/reference.h"

namespace tern::bench {
namespace {

constexpr size_t kStreamBytes = size_t{2048} << 20;

struct Shape {
    int k, n;
    std::string name() const { return std::to_string(k) + "x" + std::to_string(n); }
};
const Shape kShapes[] = {{2560, 2560}, {2560, 640}, {2560, 6912}, {6912, 2560}};

// One pass of the read-bandwidth probe over `regions`, or over a buffer of its
// own (kStreamBytes) when none are given.
double probe_gbs(int threads, std::vector<Region> regions = {}) {
    static AlignedBytes buffer = [] {
        AlignedBytes b(kStreamBytes);
        uint64_t state = 0x9E3779B97F4A7C15ull;
        for (size_t i = 0; i + 8 <= b.size(); i += 8) {
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            std::memcpy(b.data() + i, &state, 8);
        }
        return b;
    }();
    if (regions.empty()) {
        for (size_t at = 0; at < buffer.size(); at += size_t{4} << 20)
            regions.push_back({buffer.data() + at, std::min(size_t{4} << 20, buffer.size() - at)});
    }
    uint64_t sink = 0;
    const double gbs = read_bandwidth_gbs(regions, threads, &sink);
    benchmark::DoNotOptimize(sink);
    return gbs;
}

// A copy of p with different contents: random bytes drawn from the values p
// holds, so the layout stays valid (tmad codes <= 2, tlut indices < 3^g). Distinct
// contents matter: a hypervisor may merge identical pages (KSM), which would
// turn a stream of identical copies into a cache-resident one.
PackedMatrix shuffled_copy(const PackedMatrix& p, uint64_t seed) {
    PackedMatrix c = copy(p);
    bool seen[256] = {};
    for (size_t i = 0; i < p.data.size(); ++i) seen[p.data.data()[i]] = true;
    std::vector<uint8_t> values;
    for (int v = 0; v < 256; ++v)
        if (seen[v]) values.push_back(static_cast<uint8_t>(v));
    uint8_t pick[256];  // random byte -> one of the values p holds
    for (int i = 0; i < 256; ++i) pick[i] = values[i % values.size()];
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    uint8_t* out = c.data.data();
    for (size_t i = 0; i < c.data.size(); i += 8) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        for (size_t b = 0; b < 8 && i + b < c.data.size(); ++b)
            out[i + b] = pick[(state >> (8 * b)) & 255];
    }
    return c;
}

TernaryMatrix random_matrix(int n, int k) {
    TernaryMatrix m(n, k, 0.5f);
    uint32_t state = 12345;
    for (auto& w : m.w) {
        state = state * 1664525u + 1013904223u;
        w = static_cast<int8_t>(static_cast<int>(state >> 30) % 3 - 1);
    }
    return m;
}

void report(benchmark::State& state, double seconds, double weight_bytes, double ops,
            double probe) {
    const double gbs = weight_bytes / seconds / 1e9;
    state.counters["GB/s"] = gbs;
    state.counters["GOPS"] = ops / seconds / 1e9;
    state.counters["probe_GB/s"] = probe;
    state.counters["bw%"] = 100.0 * gbs / probe;
}

// The matrices a benchmark cycles through: one, or distinct ones totalling
// kStreamBytes. Kept for the next benchmark, which usually wants the same ones at
// another thread count.
const std::vector<PackedMatrix>& weights(const KernelInfo& kernel, Shape shape, bool stream) {
    static std::string key;
    static std::vector<PackedMatrix> mats;
    const std::string want =
        kernel.layout().describe() + "/" + shape.name() + (stream ? "/stream" : "");
    if (key != want) {
        mats.clear();
        mats.push_back(pack(random_matrix(shape.n, shape.k), kernel.layout()));
        const size_t copies = stream ? std::max<size_t>(2, kStreamBytes / mats[0].data.size()) : 1;
        for (size_t i = 1; i < copies; ++i) mats.push_back(shuffled_copy(mats[0], i));
        key = want;
    }
    return mats;
}

// mode: "stream" (distinct matrices, kStreamBytes), "cached" (one matrix), or GEMM
// with m_rows activation rows on one cache-resident matrix.
void run_ternary(benchmark::State& state, const KernelInfo* kernel, Shape shape, int m_rows,
                 bool stream, int threads) {
    set_num_threads(threads);
    const std::vector<PackedMatrix>& mats = weights(*kernel, shape, stream);
    const PackedMatrix& first = mats[0];
    std::vector<int8_t> q(static_cast<size_t>(m_rows) * shape.k);
    for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>((i * 37) % 255 - 127);
    std::vector<float> s(m_rows, 0.01f), y(static_cast<size_t>(m_rows) * shape.n);

    size_t next = 0;
    ternary_linear(*kernel, mats[0], q.data(), s.data(), m_rows, y.data());  // warm-up
    // Stream rows probe the matrices they stream; the others the probe's own buffer.
    std::vector<Region> regions;
    if (stream)
        for (const PackedMatrix& m : mats) regions.push_back({m.data.data(), m.data.size()});
    const double probe_before = probe_gbs(threads, regions);
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        ternary_linear(*kernel, mats[next], q.data(), s.data(), m_rows, y.data());
        next = next + 1 == mats.size() ? 0 : next + 1;
        benchmark::DoNotOptimize(y.data());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double iters = static_cast<double>(state.iterations());
    const double probe = 0.5 * (probe_before + probe_gbs(threads, regions));
    report(state, seconds, iters * first.data.size(), iters * 2.0 * shape.n * shape.k * m_rows,
           probe);
    state.SetLabel(first.layout.describe());
    set_num_threads(0);
}

// The int8 LM head of 2B4T (128256 x 2560, 328 MB: streamed from memory by
// every call) by one bundle's int8_gemv kernel, for m activation rows at once
// (a serving step's sequences; m > 1 runs the bundle's int8_gemm kernel).
void run_lm_head(benchmark::State& state, const KernelInfo* kernel, int threads, int m) {
    constexpr int kVocab = 128256, kEmbd = 2560;
    static std::string key;
    static Int8Rows rows;
    if (key != kernel->name + "@" + std::to_string(reinterpret_cast<uintptr_t>(kernel))) {
        rows = Int8Rows(*kernel, kVocab, kEmbd);
        std::vector<int8_t> row(kEmbd);
        uint64_t seed = 7;
        for (int r = 0; r < kVocab; ++r) {
            for (int8_t& v : row) {
                seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
                v = static_cast<int8_t>(static_cast<int>(seed % 255) - 127);
            }
            rows.set_row(r, row.data(), 0.01f);
        }
        key = kernel->name + "@" + std::to_string(reinterpret_cast<uintptr_t>(kernel));
    }
    set_num_threads(threads);
    std::vector<int8_t> q(static_cast<size_t>(kEmbd) * m);
    for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>((i * 37) % 255 - 127);
    const std::vector<float> q_scale(m, 0.02f);
    std::vector<float> y(static_cast<size_t>(kVocab) * m);
    std::vector<Region> regions;
    for (size_t at = 0; at < rows.packed().size(); at += size_t{4} << 20)
        regions.push_back(
            {rows.packed().data() + at, std::min(size_t{4} << 20, rows.packed().size() - at)});
    int8_gemm(rows, q.data(), q_scale.data(), m, y.data());  // warm-up
    const double probe_before = probe_gbs(threads, regions);
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        int8_gemm(rows, q.data(), q_scale.data(), m, y.data());
        benchmark::DoNotOptimize(y.data());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double iters = static_cast<double>(state.iterations());
    report(state, seconds, iters * static_cast<double>(rows.packed().size()),
           iters * 2.0 * kVocab * kEmbd * m, 0.5 * (probe_before + probe_gbs(threads, regions)));
    state.SetLabel("lanes=" + std::to_string(kernel->knob("lanes")) +
                   " dot=" + std::to_string(kernel->knob("dot")));
    set_num_threads(0);
}

void BM_ReadBandwidth(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    double total = 0;
    for (auto _ : state) total += probe_gbs(threads);
    state.counters["GB/s"] = total / static_cast<double>(state.iterations());
}

void register_all() {
    benchmark::RegisterBenchmark("read_bandwidth", BM_ReadBandwidth)
        ->ArgName("threads")
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    // Every runnable bundle, so AVX2 and AVX-512 VNNI kernels run side by side.
    for (const KernelSet& b : bundles()) {
        if (!b.runs_here()) continue;
        for (const KernelInfo& k : b.kernels()) {
            if (k.family == Family::int8_gemv) {
                const std::vector<int> ms =
                    k.name == "int8_gemm" ? std::vector<int>{2, 4, 8} : std::vector<int>{1};
                for (int m : ms)
                    for (int threads : {1, 2}) {
                        benchmark::RegisterBenchmark(
                            ("lm_head_int8/" + b.target() + "/128256x2560/m:" + std::to_string(m) +
                             "/threads:" + std::to_string(threads))
                                .c_str(),
                            [&k, threads, m](benchmark::State& st) {
                                run_lm_head(st, &k, threads, m);
                            })
                            ->UseRealTime()
                            ->Unit(benchmark::kMillisecond);
                    }
            }
            if (!k.is_ternary()) continue;
            for (const Shape& shape : kShapes) {
                // Threads innermost, so consecutive benchmarks share their weights.
                auto name = [&](const std::string& test, int threads) {
                    return test + "/" + b.target() + "/" + k.name + "/" + shape.name() +
                           "/threads:" + std::to_string(threads);
                };
                if (k.m_tile() == 1) {
                    for (bool stream : {true, false}) {
                        for (int threads : {1, 2}) {
                            benchmark::RegisterBenchmark(
                                name(stream ? "gemv_stream" : "gemv_cached", threads).c_str(),
                                [&k, shape, threads, stream](benchmark::State& st) {
                                    run_ternary(st, &k, shape, 1, stream, threads);
                                })
                                ->UseRealTime()
                                ->Unit(benchmark::kMicrosecond);
                        }
                    }
                } else {
                    for (int m_rows : {128, 512}) {
                        for (int threads : {1, 2}) {
                            benchmark::RegisterBenchmark(
                                name("gemm_m" + std::to_string(m_rows), threads).c_str(),
                                [&k, shape, threads, m_rows](benchmark::State& st) {
                                    run_ternary(st, &k, shape, m_rows, false, threads);
                                })
                                ->UseRealTime()
                                ->Unit(benchmark::kMillisecond);
                        }
                    }
                }
            }
        }
    }
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
    tern::bench::register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    tern::bench::TableReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
