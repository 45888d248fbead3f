#include "measure.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include "tern/reference.h"

namespace tern::tune {

namespace {

// A copy of p for timing only (verification uses p itself): the same bytes
// with one word per 4 KiB page changed, so a hypervisor cannot merge the pages and
// the stream really comes from memory. A memcpy keeps building a 1 GiB stream
// cheap enough to do for every layout the search visits.
PackedMatrix timing_copy(const PackedMatrix& p, uint64_t seed) {
    PackedMatrix c = copy(p);
    for (size_t at = 0; at + 8 <= c.data.size(); at += 4096)
        std::memcpy(c.data.data() + at, &seed, 8);
    return c;
}

}  // namespace

std::string Problem::key() const {
    return std::string(op_name(op)) + " " + std::to_string(k) + "x" + std::to_string(n) +
           (op == Op::gemm ? " m" + std::to_string(m_rows) : "") + " t" + std::to_string(threads);
}

Workload::Workload(const Problem& p, size_t stream_bytes)
    : problem_(p), stream_bytes_(stream_bytes), w_(p.n, p.k, 0.5f) {
    std::mt19937 rng(p.k * 31 + p.n);
    for (auto& v : w_.w) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
    q_.resize(static_cast<size_t>(p.m_rows) * p.k);
    for (auto& v : q_) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    q_scale_.assign(p.m_rows, 0.01f);
    y_.resize(static_cast<size_t>(p.m_rows) * p.n);
    y_ref_.resize(y_.size());
    ref::ternary_linear(w_, q_.data(), q_scale_.data(), p.m_rows, y_ref_.data());
}

const std::vector<PackedMatrix>& Workload::packed_for(const KernelInfo& kernel) {
    // Layouts that differ only in K alignment pack the same bytes when the padded
    // sizes agree; keying on those keeps the 1 GiB stream across kblock changes.
    const Layout layout = kernel.layout();
    const int k_pad = packed_shape(layout, problem_.n, problem_.k).k_pad;
    const std::string key =
        std::string(family_name(layout.family)) + " lanes=" + std::to_string(layout.lanes) +
        " g=" + std::to_string(layout.g) + " base3=" + std::to_string(layout.base3) +
        " k_pad=" + std::to_string(k_pad);
    if (key != layout_key_) {
        packed_.clear();
        packed_.push_back(pack(w_, layout));
        // GEMV and serving-batch GEMMs (a few rows) stream their weights from
        // memory, as in decoding; prompt-sized GEMMs reuse them from cache.
        if (problem_.op == Op::gemv || problem_.m_rows <= LinearPlan::kBatchRows) {
            const size_t copies = std::max<size_t>(2, stream_bytes_ / packed_[0].data.size());
            for (size_t i = 1; i < copies; ++i) packed_.push_back(timing_copy(packed_[0], i));
        }
        layout_key_ = key;
    }
    return packed_;
}

std::string Workload::verify(const KernelInfo& kernel) {
    const PackedMatrix& w = packed_for(kernel)[0];
    set_num_threads(problem_.threads);
    std::fill(y_.begin(), y_.end(), -12345.0f);
    ternary_linear(kernel, w, q_.data(), q_scale_.data(), problem_.m_rows, y_.data());
    for (size_t i = 0; i < y_.size(); ++i) {
        if (y_[i] != y_ref_[i]) {
            return "output (row " + std::to_string(i / problem_.n) + ", " +
                   std::to_string(i % problem_.n) + ") is " + std::to_string(y_[i]) +
                   ", reference " + std::to_string(y_ref_[i]);
        }
    }
    return "";
}

Timing Workload::time(const KernelInfo& kernel, int repetitions, double min_batch_s) {
    const auto& mats = packed_for(kernel);
    set_num_threads(problem_.threads);
    using clock = std::chrono::steady_clock;
    size_t next = 0;
    auto call = [&] {
        ternary_linear(kernel, mats[next], q_.data(), q_scale_.data(), problem_.m_rows, y_.data());
        next = next + 1 == mats.size() ? 0 : next + 1;
    };
    call();  // warm-up
    Timing t;
    // Very slow candidates (autoscheduled comparisons) get fewer repetitions:
    // stop after 3 s once one repetition is in.
    const auto first = clock::now();
    for (int r = 0; r < repetitions; ++r) {
        if (r > 0 && std::chrono::duration<double>(clock::now() - first).count() > 3.0) break;
        int calls = 0;
        const auto start = clock::now();
        double elapsed = 0;
        while (elapsed < min_batch_s || calls < 2) {
            call();
            ++calls;
            elapsed = std::chrono::duration<double>(clock::now() - start).count();
        }
        t.samples_us.push_back(elapsed / calls * 1e6);
    }
    std::vector<double> sorted = t.samples_us;
    std::sort(sorted.begin(), sorted.end());
    t.median_us = sorted[sorted.size() / 2];
    t.spread_pct = 100.0 * (sorted.back() - sorted.front()) / t.median_us;
    return t;
}

}  // namespace tern::tune
