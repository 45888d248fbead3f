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

// Reads every region once with plain loads (the widest the CPU has) on
// `threads` threads of the calling thread's pool (a Backend::Scope's, else the
// default pool; it sets that pool's count), each taking an equal part of every
// region (any alignment: a file-precision LM head sits at GGUF's 32-byte
// alignment), and returns GB/s: the faster of two passes, with and without a
// second prefetch into L2 (stream_prefetch.h). The sum goes
// to `sink` so nothing is elided. Benchmarks probe the very buffers a kernel
// streams: on a virtual machine, where memory sits on the host can change
// bandwidth by half.
double read_bandwidth_gbs(const std::vector<Region>& regions, int threads, uint64_t* sink);

}  // namespace tern
