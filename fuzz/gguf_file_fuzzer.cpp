// Fuzz target: a GGUF file from a stranger, through what tern reads of it
// before loading weights: the reader (header, metadata, tensor table), the
// model settings, the tokenizer and chat format, and every tensor's decoder
// (float and block-quantised types, TQ1_0/TQ2_0/I2_S codes and scales, ternary
// values stored as floats). gguf_model_fuzzer.cpp loads whole tiny models.
// tern::Error is the expected answer to a bad file; any other exception, crash
// or sanitizer report is a finding.
#include <cstdint>
#include <vector>

#include "fuzz_support.h"
#include "tern/chat_format.h"
#include "tern/error.h"
#include "tern/gguf.h"
#include "tern/gguf_tensors.h"
#include "tern/model.h"
#include "tern/tokenizer.h"

namespace {

using namespace tern;

// Rows decoded per tensor: the first and the last, so the decoders read both
// ends of every tensor without making large files slow to fuzz.
void decode_tensors(const gguf::File& f) {
    for (const gguf::TensorInfo& t : f.tensors()) {
        if (t.dims.empty() || t.dims[0] > (1u << 20)) continue;
        const uint64_t rows = t.rows();
        if (rows == 0) continue;
        if (gguf::is_float(t.type)) {
            std::vector<float> out(t.dims[0]);
            gguf::decode_row(f, t, 0, out.data());
            gguf::decode_row(f, t, rows - 1, out.data());
        }
        if (gguf::is_ternary_storage(t.type)) {
            try {
                const gguf::TernaryTensor tt = gguf::ternary_tensor(f, t);
                std::vector<int8_t> row(static_cast<size_t>(tt.k));
                tt.rows(0, row.data());
                tt.rows(tt.n - 1, row.data());
            } catch (const Error&) {  // not a ternary matrix: others may still decode
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static fuzz::MemoryFile input;
    const std::string& path = input.write(data, size);
    try {
        const gguf::File f = gguf::File::open(path);
        decode_tensors(f);
        const ModelConfig config = model_config(f);
        const Tokenizer tok = Tokenizer::from_gguf(f);
        const std::vector<int> ids = tok.encode("Hello <|eot_id|> world 123", tok.add_bos(), true);
        tok.decode(ids);
        std::string source;
        const ChatFormat format = choose_chat_format(f, config, "", &source);
        chat_tokens(format, tok, {{"system", "s"}, {"user", "u"}}, true, tok.add_bos());
    } catch (const Error&) {
    }
    return 0;
}
