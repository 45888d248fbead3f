// tern serve: the OpenAI-compatible HTTP server (server/server.h) on a model.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "commands.h"
#include "model_flags.h"
#include "tern/chat_format.h"
#include "tern/error.h"

#ifdef TERN_WITH_SERVER
#include "server/server.h"
#endif

namespace tern::cli {

#ifdef TERN_WITH_SERVER
namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }
}  // namespace
#endif

int serve_command(int argc, char** argv) {
    ArgParser args("serve", "-m FILE [--host ADDR] [--port N] [-np N] [options]");
    add_model_flags(args, "0", "4096", "KV cache length in tokens, per slot");
    args.option("host", "", "ADDR", "127.0.0.1", "address to listen on");
    args.option("port", "", "N", "8080", "port (0: any free port, printed)");
    args.option("parallel", "np", "N", "4", "slots: sequences generated at once");
    args.option("queue", "", "N", "64", "requests waiting for a slot before 503");
    args.option("prefill-chunk", "", "N", "64", "prompt tokens per sequence and step");
    args.flag("no-prompt-cache", "",
              "evaluate every prompt whole (default: start from the longest prefix a free "
              "slot's KV cache holds, as a conversation's next turn shares its earlier ones)");
    args.option("api-key", "", "KEY", "", "require 'Authorization: Bearer KEY' (all but /health)");
    args.option("alias", "", "NAME", "", "model id in the API (default: the file's name)");
    args.option("chat-format", "", "llama3|bitnet|falcon3", "",
                "chat prompt format (default: from the file's chat template)");
    if (!args.parse(argc, argv)) return 0;
#ifndef TERN_WITH_SERVER
    throw Error(
        "tern serve: this tern was built without cpp-httplib and nlohmann-json "
        "(scripts/setup.sh installs them)");
#else
    EngineOptions eo;
    eo.model = model_options(args, static_cast<int>(args.integer("threads", 0, 1024)));
    eo.slots = static_cast<int>(args.integer("parallel", 1, 256));
    eo.prefill_chunk = static_cast<int>(args.integer("prefill-chunk", 1, 1 << 16));
    server::ServerOptions so;
    so.host = args.str("host");
    so.port = static_cast<int>(args.integer("port", 0, 65535));
    so.max_queue = static_cast<int>(args.integer("queue", 0, 1 << 20));
    so.api_key = args.str("api-key");
    so.prompt_cache = !args.given("no-prompt-cache");
    so.chat_format = args.str("chat-format");
    if (!so.chat_format.empty()) chat_format(so.chat_format);  // unknown names: an error now
    args.require("model");
    so.model_name = args.str("alias").empty()
                        ? std::filesystem::path(args.str("model")).stem().string()
                        : args.str("alias");
    Progress bar("loading " + args.str("model"));
    eo.model.progress = [&](int done, int total) { bar.update(done, total); };
    auto engine = Engine::load(args.str("model"), eo);
    const Model& m = engine->model();
    std::fprintf(stderr,
                 "%s: %s, %d slots x %d tokens of context; KV cache %.1f MiB reserved, weights "
                 "%.1f MiB; %d threads, %s bundle\n",
                 so.model_name.c_str(), m.config().family.c_str(), eo.slots, m.context(),
                 m.kv_cache_bytes() / 1048576.0, m.packed_bytes() / 1048576.0,
                 m.backend().threads(), m.backend().bundle().target().c_str());
    server::Server server(*engine, so);
    if (m.config().embedding_model())
        std::fprintf(stderr, "embedding model (%d floats, %s pooling): serving /v1/embeddings\n",
                     m.config().n_embd, pooling_name(m.config().pooling));
    else if (!server.chat_format_error().empty())
        std::fprintf(stderr, "warning: %s; give --chat-format to serve chat\n",
                     server.chat_format_error().c_str());
    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    std::thread watcher([&] {
        while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::fprintf(stderr, "stopping: no new requests; ending running ones\n");
        server.stop();
    });
    std::thread announce([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (!g_stop)
            std::fprintf(stderr, "listening on http://%s:%d (OpenAI API under /v1)\n",
                         so.host.c_str(), server.port());
    });
    try {
        server.run();
    } catch (...) {
        g_stop = true;
        watcher.join();
        announce.join();
        throw;
    }
    g_stop = true;
    watcher.join();
    announce.join();
    std::fprintf(stderr, "stopped\n");
    return 0;
#endif
}

}  // namespace tern::cli
