// A memory read-bandwidth probe: what streaming weights could reach at best.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern::bench {

// Reads `bytes` from `data` with `threads` threads (each a contiguous slice)
// and returns GB/s. The sum is returned through `sink` so nothing is elided.
double read_bandwidth_gbs(const uint8_t* data, size_t bytes, int threads, uint64_t* sink);

}  // namespace tern::bench
