// OpenAI completion and embedding requests: a JSON body to a prompt and
// generation settings (or texts to embed), or an ApiError naming the field that
// is wrong. No I/O and no engine, so the
// server's handlers, the tests and the fuzzer (fuzz/server_request_fuzzer.cpp)
// share it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tern/chat_format.h"
#include "tern/engine.h"
#include "tern/tokenizer.h"

namespace tern::server {

// A client error: HTTP status, message and the request field it concerns.
struct ApiError {
    int status;
    std::string message, param, type = "invalid_request_error";
};

// OpenAI's error object for e.
nlohmann::json error_body(const ApiError& e);

// What a request is checked against.
struct RequestContext {
    const Tokenizer& tokenizer;
    const ChatFormat* format;  // how chat messages become tokens; null: chat is refused
    std::string format_error;  // ... with this message
    std::string model_name;    // the only "model" a request may name
    int n_ctx = 0;             // context of one sequence: prompt + answer must fit
};

struct CompletionRequest {
    bool stream = false, return_tokens = false, include_usage = false;
    std::vector<int> prompt;
    GenerationParams params;
};

// Parses a /v1/chat/completions (chat) or /v1/completions body. seed is the
// sampling seed when the request names none. Throws ApiError for anything the
// client got wrong, and nothing else: any body, however malformed, deep or
// large, gets an answer naming what was expected.
CompletionRequest parse_completion_request(const std::string& body, bool chat,
                                           const RequestContext& context, uint64_t seed);

// A /v1/embeddings request: each input as token ids (texts tokenised with the
// file's BOS and EOS; token arrays as given, EOS appended where the file adds
// one and the array lacks it, as last-token pooling reads it).
struct EmbeddingRequest {
    std::vector<std::vector<int>> inputs;
    bool base64 = false;  // encoding_format "base64": little-endian float32 bytes
    int prompt_tokens = 0;
};
inline constexpr int kMaxEmbeddingInputs = 2048;  // OpenAI's limit per request

// Parses a /v1/embeddings body: input (a string, an array of strings, an
// array of token ids or an array of such arrays; none empty, each at most the
// context), encoding_format (float or base64), dimensions (absent or the
// model's n_embd: tern does not shorten vectors), model, user. Throws ApiError
// naming the field.
EmbeddingRequest parse_embedding_request(const std::string& body, const RequestContext& context,
                                         int n_embd);

}  // namespace tern::server
