// A memory read-bandwidth probe: what streaming weights could reach at best.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tern {

struct Region {
    const uint8_t* data;
    size_t bytes;
};

// Reads every region once with plain loads (the widest the CPU has) on tern's
// thread pool with `threads` threads, each taking an equal part of every region
// (any alignment: a file-precision LM head sits at GGUF's 32-byte alignment), and
// returns GB/s. Sets the pool's thread count (tern::set_num_threads). The sum goes
// to `sink` so nothing is elided. Benchmarks probe the very buffers a kernel
// streams: on a virtual machine, where memory sits on the host can change
// bandwidth by half.
double read_bandwidth_gbs(const std::vector<Region>& regions, int threads, uint64_t* sink);

}  // namespace tern
