// Fuzz target: a whole tiny model from a stranger, loaded as `tern run` loads
// it (validation of every setting and tensor, repacking for the active
// bundle's kernels, the int8 LM head, the memory estimate) and run for two
// tokens. Inputs are kept small (scripts/fuzz.sh: -max_len 65536) so that most
// executions reach the forward pass; gguf_file_fuzzer.cpp covers the reader
// and decoders on larger files. tern::Error is the expected answer to a bad
// file; any other exception, crash or sanitizer report is a finding.
#include <cstdint>

#include "fuzz_support.h"
#include "tern/error.h"
#include "tern/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static tern::fuzz::MemoryFile input;
    const std::string& path = input.write(data, size);
    try {
        tern::ModelOptions options;
        options.threads = 1;
        options.n_ctx = 8;
        const auto model = tern::Model::load(path, options);
        const int n_vocab = model->config().n_vocab;
        model->eval({0, n_vocab - 1});
        model->eval({n_vocab / 2});
    } catch (const tern::Error&) {
    }
    return 0;
}
