#include "tern/read_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/stream_prefetch.h"
#include "kernels/thread_pool.h"
#include "tern/cpu.h"
#include "tern/kernels.h"

namespace tern {

namespace {

// Independent accumulators keep enough loads in flight, and the prefetches of
// stream_prefetch.h keep the probe from being the slower reader: the kernels
// prefetch their weight streams too. (1 KiB ahead raised it from 15.5 to 18.5
// GB/s at one thread and from 30 to 36 at two on the Intel Xeon guest,
// 2026-12-03.) With or without the second prefetch into L2 (L2): which reads
// faster depends on the regions, so the probe times both.
#if defined(__x86_64__)
template <bool L2>
__attribute__((target("avx512f"))) uint64_t read_slice_avx512(const uint8_t* p, size_t n) {
    // Two 64-byte loads per 128 bytes, four accumulators over 256.
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 256 <= n; i += 256) {
        for (size_t line = 0; line < 256; line += 64) prefetch_stream_line<L2>(p + i + line);
        a = _mm512_add_epi64(a, _mm512_loadu_si512(p + i));
        b = _mm512_add_epi64(b, _mm512_loadu_si512(p + i + 64));
        c = _mm512_add_epi64(c, _mm512_loadu_si512(p + i + 128));
        d = _mm512_add_epi64(d, _mm512_loadu_si512(p + i + 192));
    }
    if (i + 128 <= n) {
        a = _mm512_add_epi64(a, _mm512_loadu_si512(p + i));
        b = _mm512_add_epi64(b, _mm512_loadu_si512(p + i + 64));
    }
    alignas(64) uint64_t lanes[8];
    _mm512_store_si512(lanes, _mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(c, d)));
    return lanes[0] + lanes[7];
}

template <bool L2>
__attribute__((target("avx2"))) uint64_t read_slice_avx2(const uint8_t* p, size_t n) {
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        prefetch_stream_line<L2>(p + i);
        prefetch_stream_line<L2>(p + i + 64);
        a = _mm256_add_epi64(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
        b = _mm256_add_epi64(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
        c = _mm256_add_epi64(c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
        d = _mm256_add_epi64(d, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
    }
    const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
    return static_cast<uint64_t>(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 3));
}

// The widest loads this CPU has: kernels with 64-byte loads stream faster than a
// 32-byte loop, and the probe should be the best plain read, not a slower one.
uint64_t read_slice(const uint8_t* p, size_t n, bool l2) {
    static const bool wide = host_cpu().features.count("avx512f") > 0;
    if (wide) return l2 ? read_slice_avx512<true>(p, n) : read_slice_avx512<false>(p, n);
    return l2 ? read_slice_avx2<true>(p, n) : read_slice_avx2<false>(p, n);
}
#else
uint64_t read_slice(const uint8_t* p, size_t n, bool) {
    uint64_t a = 0, b = 0, c = 0, d = 0, w[4];
    for (size_t i = 0; i + 32 <= n; i += 32) {
        std::memcpy(w, p + i, sizeof w);  // any alignment
        a += w[0];
        b += w[1];
        c += w[2];
        d += w[3];
    }
    return a + b + c + d;
}
#endif

struct ProbeJob {
    const std::vector<Region>* regions;
    int threads;
    bool l2;
    std::vector<uint64_t> sums;
};

// Task t reads the t-th of `threads` equal parts of every region, as a kernel
// splits each matrix over the threads (whole regions per thread would leave
// the threads unequal work when the regions differ in size).
int probe_task(void*, int t, uint8_t* closure) {
    auto* job = reinterpret_cast<ProbeJob*>(closure);
    const size_t parts = static_cast<size_t>(job->threads);
    for (const Region& r : *job->regions) {
        const size_t lines = r.bytes / 128, begin = lines * t / parts * 128,
                     end = lines * (t + 1) / parts * 128;
        job->sums[t] += read_slice(r.data + begin, end - begin, job->l2);
    }
    return 0;
}

}  // namespace

// On the pool rather than fresh threads: the pool's workers spin between
// parallel calls, and would otherwise compete with the probe for the cores.
double read_bandwidth_gbs(const std::vector<Region>& regions, int threads, uint64_t* sink) {
    pool_install();
    ThreadPool& pool = current_pool();
    pool.set_threads(threads);
    size_t total = 0;
    for (const Region& r : regions) total += r.bytes / 128 * 128;
    double best = 0;
    for (bool l2 : {false, true}) {
        ProbeJob job{&regions, threads, l2, std::vector<uint64_t>(threads)};
        const auto start = std::chrono::steady_clock::now();
        pool.run(nullptr, probe_task, 0, threads, reinterpret_cast<uint8_t*>(&job));
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        for (uint64_t s : job.sums) *sink += s;
        best = std::max(best, static_cast<double>(total) / seconds / 1e9);
    }
    return best;
}

}  // namespace tern
