// OpenAI completion requests: a JSON body to a prompt and generation settings,
// or an ApiError naming the field that is wrong. No I/O and no engine, so the
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

}  // namespace tern::server
