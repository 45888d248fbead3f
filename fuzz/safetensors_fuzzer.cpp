// Fuzz target: a safetensors file from a stranger (tern convert's input), through
// the reader's validation of its header and every tensor's bytes: the first and
// last value of each floating-point tensor are decoded. tern::Error is the
// expected answer to a bad file; anything else is a finding.
#include <cstdint>

#include "convert/safetensors.h"
#include "fuzz_support.h"
#include "tern/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static tern::fuzz::MemoryFile input;
    const std::string& path = input.write(data, size);
    try {
        const auto f = tern::convert::SafetensorsFile::open(path);
        for (const auto& [name, t] : f.tensors()) {
            const uint64_t n = t.elements();
            if (n == 0) continue;
            float v[1];
            try {
                tern::convert::read_floats(t, 0, 1, v);
                tern::convert::read_floats(t, n - 1, 1, v);
            } catch (const tern::Error&) {  // not a float tensor
            }
        }
    } catch (const tern::Error&) {
    }
    return 0;
}
