// A memory read-bandwidth probe: what streaming weights could reach at best.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tern::bench {

struct Region {
    const uint8_t* data;
    size_t bytes;
};

// Reads every region once with `threads` threads (thread t takes regions t,
// t + threads, ...) and returns GB/s. The sum goes to `sink` so nothing is
// elided. Kernel benchmarks probe the very buffers the kernel streams: on a
// virtual machine, where memory sits on the host can change bandwidth by half.
double read_bandwidth_gbs(const std::vector<Region>& regions, int threads, uint64_t* sink);

}  // namespace tern::bench
