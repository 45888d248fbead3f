// tern serve: an OpenAI-compatible HTTP server over the engine, with continuous
// batching. HTTP handler threads parse and validate requests and queue them;
// one engine thread admits queued requests into free slots and steps every
// active sequence together; tokens flow back to the handlers, which stream them
// as server-sent events or answer once complete.
#pragma once

#include <memory>
#include <string>

#include "tern/engine.h"

namespace tern::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string api_key;     // non-empty: every route but /health needs "Authorization: Bearer KEY"
    std::string model_name;  // the id /v1/models lists and requests may name
    // Chat format by name ("llama3", ...); empty: from the file's chat template.
    // If neither gives one, completions still work and chat requests get a 400
    // saying why (see chat_format_error()).
    std::string chat_format;
    int max_queue = 64;         // requests waiting for a slot; beyond it: 503 with Retry-After
    size_t max_body = 1 << 20;  // request bodies over this many bytes: 413
    int http_threads = 0;       // 0: slots + max_queue + 8 (a stream holds a thread)
    // Requests start from the longest prefix a free slot's KV cache holds (see
    // Engine::submit); false evaluates every prompt whole, whatever the request says.
    bool prompt_cache = true;
};

class Server {
public:
    Server(Engine& engine, const ServerOptions& options);
    ~Server();
    // Binds (throws tern::Error naming host and port if it cannot) and serves
    // until stop(); returns after the engine thread has finished.
    void run();
    // Stops accepting, ends running and queued requests (finish_reason
    // "cancelled"), and makes run() return. Safe from any thread.
    void stop();
    int port() const;  // the bound port (after run() has bound)
    // Why chat requests cannot be served (empty when they can).
    const std::string& chat_format_error() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern::server
