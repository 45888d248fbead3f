// Fuzz target: an HTTP request body as tern serve parses it, through the chat
// formats into tokens. The first byte picks the route (chat, completion or,
// with its top bit, embeddings) and the chat format; the rest is the body. ApiError is the expected
// answer to a bad body, and its JSON must serialise; anything else is a finding.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "server/request.h"
#include "tern/gguf.h"

namespace {

struct Served {
    tern::gguf::File file = tern::gguf::File::open(tern::fuzz::tokenizer_model_path());
    tern::Tokenizer tokenizer = tern::Tokenizer::from_gguf(file);
    std::vector<tern::ChatFormat> formats;
    Served() {
        for (const std::string& name : tern::chat_format_names())
            formats.push_back(tern::chat_format(name));
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Served served;
    if (size == 0) return 0;
    const bool chat = data[0] & 1;
    // One choice more than there are formats: a model whose template tern
    // does not recognise (chat is refused, completions served).
    const size_t f = (data[0] >> 1) % (served.formats.size() + 1);
    const tern::ChatFormat* format = f < served.formats.size() ? &served.formats[f] : nullptr;
    const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
    const tern::server::RequestContext context{served.tokenizer, format, "no chat format",
                                               "tern-model", 64};
    try {
        if (data[0] & 0x80) {
            const tern::server::EmbeddingRequest r =
                tern::server::parse_embedding_request(body, context, 256);
            for (const std::vector<int>& input : r.inputs) {
                if (input.empty() || input.size() > 64) __builtin_trap();
                for (int id : input)
                    if (id < 0 || id >= served.tokenizer.n_vocab()) __builtin_trap();
            }
            return 0;
        }
        const tern::server::CompletionRequest r =
            tern::server::parse_completion_request(body, chat, context, 42);
        for (int id : r.prompt)
            if (id < 0 || id >= served.tokenizer.n_vocab()) __builtin_trap();
    } catch (const tern::server::ApiError& e) {
        tern::server::error_body(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    return 0;
}
