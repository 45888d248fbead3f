// See server.h. Read top to bottom: the shared job state, request parsing and
// validation (OpenAI's fields, errors naming the field), the engine thread, the
// routes, then run/stop.
#include "server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "request.h"
#include "tern/error.h"

namespace tern::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A request between its handler thread and the engine thread.
struct Job {
    std::vector<int> prompt;
    GenerationParams params;
    std::mutex mu;
    std::condition_variable cv;
    std::string text;  // produced, not yet taken by the handler
    bool done = false;
    FinishReason finish = FinishReason::none;
    int completion_tokens = 0;
    int cached_tokens = 0;    // prompt tokens reused from the slot's cache
    std::vector<int> tokens;  // generated (return_tokens)
    std::atomic<bool> cancel{false};
    Clock::time_point queued = Clock::now();
};

// An embedding request between its handler thread and the engine thread; its
// inputs may be spread over several batches, with other requests' inputs.
struct EmbedJob {
    std::vector<std::vector<int>> inputs;
    size_t handed_out = 0;  // inputs given to a batch (engine thread, under Impl::mu)
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::vector<float>> vectors;
    size_t finished = 0;
    std::string error;
    bool done = false;
};

// RFC 4648 base64 of bytes (OpenAI's encoding_format "base64": float32, little endian).
std::string base64(const uint8_t* p, size_t n) {
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t v = uint32_t(p[i]) << 16 | (i + 1 < n ? uint32_t(p[i + 1]) << 8 : 0) |
                           (i + 2 < n ? p[i + 2] : 0);
        out += digits[v >> 18 & 63];
        out += digits[v >> 12 & 63];
        out += i + 1 < n ? digits[v >> 6 & 63] : '=';
        out += i + 2 < n ? digits[v & 63] : '=';
    }
    return out;
}

std::string now_id(const char* prefix, uint64_t n) {
    return std::string(prefix) + std::to_string(n);
}

long unix_time() {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

}  // namespace

struct Server::Impl {
    Engine& engine;
    ServerOptions options;
    // An embedding model answers /v1/embeddings only; a generative one the rest.
    const bool embedding_model;
    std::optional<ChatFormat> format;
    std::string format_error;
    httplib::Server http;
    std::atomic<bool> stopping{false};
    std::atomic<uint64_t> next_id{1};
    std::random_device seeds;
    std::mutex seeds_mu;

    // The queue of jobs waiting for a slot, and the running ones (engine ids).
    std::mutex mu;
    std::condition_variable work;
    std::deque<std::shared_ptr<Job>> queue;
    std::map<int, std::shared_ptr<Job>> running;
    std::deque<std::shared_ptr<EmbedJob>> embed_queue;
    std::thread engine_thread;

    // Metrics.
    std::mutex metrics_mu;
    std::map<int, uint64_t> responses;  // by HTTP status
    std::atomic<uint64_t> prompt_tokens{0}, completion_tokens{0}, cancelled{0}, cached_tokens{0},
        embeddings{0};
    Clock::time_point started = Clock::now();
    std::deque<std::pair<Clock::time_point, uint64_t>> recent;  // (time, completion tokens)

    Impl(Engine& e, const ServerOptions& o)
        : engine(e), options(o), embedding_model(e.model().config().embedding_model()) {
        std::string source;
        try {
            format = choose_chat_format(engine.model().file(), engine.model().config(),
                                        options.chat_format, &source);
        } catch (const Error& e) {  // completions need no chat format
            format_error = std::string(e.what()) + " (chat requests are refused)";
        }
    }

    // --- Requests -----------------------------------------------------------

    // The parsing context of this server's requests.
    RequestContext request_context() const {
        return {engine.tokenizer(), format ? &*format : nullptr, format_error, options.model_name,
                engine.model().context()};
    }

    // Queues a job for the engine thread; 503 when the queue is full.
    std::shared_ptr<Job> enqueue(std::vector<int> prompt, const GenerationParams& params) {
        auto job = std::make_shared<Job>();
        job->prompt = std::move(prompt);
        job->params = params;
        std::lock_guard<std::mutex> lock(mu);
        if (stopping) throw ApiError{503, "the server is shutting down", "", "server_error"};
        if (static_cast<int>(queue.size()) >= options.max_queue)
            throw ApiError{503,
                           "too many requests: " + std::to_string(queue.size()) +
                               " are waiting for a slot; retry later",
                           "", "server_busy"};
        queue.push_back(job);
        prompt_tokens += job->prompt.size();
        work.notify_one();
        return job;
    }

    // Waits for more text or the end; false when the client should be dropped.
    template <typename Alive>
    bool wait(Job& job, std::string* text, bool* done, Alive alive) {
        std::unique_lock<std::mutex> lock(job.mu);
        while (job.text.empty() && !job.done) {
            job.cv.wait_for(lock, std::chrono::milliseconds(100));
            if (!job.text.empty() || job.done) break;
            if (!alive()) return false;
        }
        text->swap(job.text);
        job.text.clear();
        *done = job.done;
        return true;
    }

    // --- The engine thread ----------------------------------------------------

    void engine_loop() {
        if (embedding_model) return embed_loop();
        while (true) {
            {
                std::unique_lock<std::mutex> lock(mu);
                if (stopping) break;
                while (!queue.empty() && engine.free_slots() > 0) {
                    std::shared_ptr<Job> job = queue.front();
                    queue.pop_front();
                    if (job->cancel) {
                        end(*job, FinishReason::cancelled);
                        continue;
                    }
                    try {
                        const int id =
                            engine.submit(job->prompt, job->params,
                                          [this, job](const TokenEvent& e) { on_token(*job, e); });
                        running[id] = job;
                    } catch (const Error&) {  // validated before queueing; a defect if reached
                        end(*job, FinishReason::cancelled);
                    }
                }
                for (const auto& [id, job] : running)
                    if (job->cancel) engine.cancel(id);
                if (engine.active() == 0) {
                    work.wait_for(lock, std::chrono::milliseconds(200));
                    continue;
                }
            }
            engine.step();
            std::lock_guard<std::mutex> lock(mu);
            for (auto it = running.begin(); it != running.end();) {
                std::lock_guard<std::mutex> job_lock(it->second->mu);
                it = it->second->done ? running.erase(it) : std::next(it);
            }
        }
        // Shutting down: end every running and queued request.
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& [id, job] : running) engine.cancel(id);
        engine.step();
        running.clear();
        for (auto& job : queue) end(*job, FinishReason::cancelled);
        queue.clear();
    }

    // Embedding models: batches of up to one input per slot, taken from the
    // queued requests oldest first (a batch may mix requests; a large request
    // spans batches), embedded together through the GEMM kernels.
    void embed_loop() {
        Model& model = engine.model();
        const size_t slots = static_cast<size_t>(engine.options().slots);
        while (true) {
            std::vector<std::pair<std::shared_ptr<EmbedJob>, size_t>> batch;
            std::vector<std::vector<int>> texts;
            {
                std::unique_lock<std::mutex> lock(mu);
                while (embed_queue.empty() && !stopping)
                    work.wait_for(lock, std::chrono::milliseconds(200));
                if (stopping) break;
                for (auto it = embed_queue.begin();
                     it != embed_queue.end() && texts.size() < slots;) {
                    EmbedJob& j = **it;
                    while (j.handed_out < j.inputs.size() && texts.size() < slots) {
                        batch.emplace_back(*it, j.handed_out);
                        texts.push_back(j.inputs[j.handed_out++]);
                    }
                    it = j.handed_out == j.inputs.size() ? embed_queue.erase(it) : std::next(it);
                }
            }
            std::vector<std::vector<float>> vectors;
            std::string error;
            try {
                vectors = model.embed(texts, {});
            } catch (const std::exception& e) {  // inputs were validated; a defect if reached
                error = e.what();
            }
            embeddings += texts.size();
            for (size_t i = 0; i < batch.size(); ++i) {
                EmbedJob& j = *batch[i].first;
                std::lock_guard<std::mutex> lock(j.mu);
                if (error.empty())
                    j.vectors[batch[i].second] = std::move(vectors[i]);
                else
                    j.error = error;
                if (++j.finished == j.inputs.size()) {
                    j.done = true;
                    j.cv.notify_all();
                }
            }
        }
        std::lock_guard<std::mutex> lock(mu);
        for (auto& job : embed_queue) {
            std::lock_guard<std::mutex> job_lock(job->mu);
            job->error = "the server is shutting down";
            job->done = true;
            job->cv.notify_all();
        }
        embed_queue.clear();
    }

    void on_token(Job& job, const TokenEvent& e) {
        std::lock_guard<std::mutex> lock(job.mu);
        const int new_tokens = e.completion_tokens - job.completion_tokens;
        if (new_tokens > 0) {
            completion_tokens += new_tokens;
            std::lock_guard<std::mutex> metrics_lock(metrics_mu);
            recent.emplace_back(Clock::now(), new_tokens);
        }
        if (e.token >= 0 && e.finish != FinishReason::cancelled &&
            (e.finish == FinishReason::none || new_tokens > 0))
            job.tokens.push_back(e.token);
        job.text += e.text;
        job.completion_tokens = e.completion_tokens;
        if (job.cached_tokens == 0 && e.cached_tokens > 0) {
            job.cached_tokens = e.cached_tokens;
            cached_tokens += static_cast<uint64_t>(e.cached_tokens);
        }
        if (e.finish != FinishReason::none) {
            job.done = true;
            job.finish = e.finish;
            if (e.finish == FinishReason::cancelled) ++cancelled;
        }
        job.cv.notify_all();
    }

    void end(Job& job, FinishReason why) {
        std::lock_guard<std::mutex> lock(job.mu);
        job.done = true;
        job.finish = why;
        if (why == FinishReason::cancelled) ++cancelled;
        job.cv.notify_all();
    }

    // --- Responses ------------------------------------------------------------

    void send_json(httplib::Response& res, int status, const json& body) {
        res.status = status;
        res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                        "application/json");
    }

    void send_error(httplib::Response& res, const ApiError& e) {
        if (e.status == 503) res.set_header("Retry-After", "1");
        send_json(res, e.status, error_body(e));
    }

    // One route: errors become OpenAI error objects.
    template <typename Body>
    httplib::Server::Handler route(Body body) {
        return [this, body](const httplib::Request& req, httplib::Response& res) {
            try {
                if (!authorized(req))
                    throw ApiError{401, "a valid API key is required (Authorization: Bearer KEY)",
                                   "", "authentication_error"};
                body(req, res);
            } catch (const ApiError& e) {
                send_error(res, e);
            } catch (const Error& e) {
                send_error(res, ApiError{400, e.what(), ""});
            }
        };
    }

    bool authorized(const httplib::Request& req) const {
        if (options.api_key.empty() || req.path == "/health") return true;
        // Compared in time that depends on the lengths only, not on how many
        // leading characters match: no timing side channel to guess the key by.
        const std::string given = req.get_header_value("Authorization");
        const std::string want = "Bearer " + options.api_key;
        unsigned char diff = given.size() == want.size() ? 0 : 1;
        for (size_t i = 0; i < given.size(); ++i)
            diff |= static_cast<unsigned char>(given[i] ^ want[i % want.size()]);
        return diff == 0;
    }

    // Completions and chat completions share everything but the prompt and the
    // shape of the answer.
    void generate(const httplib::Request& req, httplib::Response& res, bool chat) {
        if (embedding_model)
            throw ApiError{400,
                           "model '" + options.model_name +
                               "' is an embedding model: it answers /v1/embeddings, not " +
                               (chat ? "chat completions" : "completions"),
                           ""};
        uint64_t seed;
        {
            std::lock_guard<std::mutex> lock(seeds_mu);
            seed = seeds();
        }
        CompletionRequest request =
            parse_completion_request(req.body, chat, request_context(), seed);
        const bool stream = request.stream, return_tokens = request.return_tokens,
                   include_usage = request.include_usage;
        std::vector<int> prompt = std::move(request.prompt);
        GenerationParams params = request.params;
        if (!options.prompt_cache) params.cache_prompt = false;
        const int n_prompt = static_cast<int>(prompt.size());
        std::shared_ptr<Job> job = enqueue(std::move(prompt), params);
        const std::string id = now_id(chat ? "chatcmpl-" : "cmpl-", next_id++);
        const long created = unix_time();
        const std::string object = chat ? "chat.completion" : "text_completion";
        auto usage = [n_prompt, job]() {
            std::lock_guard<std::mutex> lock(job->mu);
            return json{{"prompt_tokens", n_prompt},
                        {"completion_tokens", job->completion_tokens},
                        {"total_tokens", n_prompt + job->completion_tokens},
                        {"prompt_tokens_details", {{"cached_tokens", job->cached_tokens}}}};
        };
        auto finish_name = [](FinishReason r) -> json {
            return r == FinishReason::none
                       ? json(nullptr)
                       : json(r == FinishReason::cancelled ? "stop" : finish_reason_name(r));
        };
        if (!stream) {
            std::string text;
            bool done = false;
            while (!done) {
                std::string more;
                wait(*job, &more, &done, [] { return true; });
                text += more;
            }
            json choice = {{"index", 0}, {"finish_reason", finish_name(job->finish)}};
            if (chat)
                choice["message"] = {{"role", "assistant"}, {"content", text}};
            else
                choice["text"] = text;
            if (return_tokens) {  // an extension, as llama-server's
                std::lock_guard<std::mutex> lock(job->mu);
                choice["tokens"] = job->tokens;
            }
            send_json(res, 200,
                      {{"id", id},
                       {"object", object},
                       {"created", created},
                       {"model", options.model_name},
                       {"choices", json::array({choice})},
                       {"usage", usage()}});
            return;
        }
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider("text/event-stream", [this, job, id, created, chat,
                                                               include_usage, usage, finish_name](
                                                                  size_t, httplib::DataSink& sink) {
            const std::string chunk_object = chat ? "chat.completion.chunk" : "text_completion";
            auto event = [&](const json& delta_or_text, const json& finish) {
                json choice = {{"index", 0}, {"finish_reason", finish}};
                if (chat)
                    choice["delta"] = delta_or_text;
                else
                    choice["text"] = delta_or_text;
                json chunk = {{"id", id},
                              {"object", chunk_object},
                              {"created", created},
                              {"model", options.model_name},
                              {"choices", json::array({choice})}};
                const std::string line =
                    "data: " + chunk.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
                return sink.write(line.data(), line.size());
            };
            bool ok = !chat || event(json{{"role", "assistant"}, {"content", ""}}, nullptr);
            bool done = false;
            while (ok && !done) {
                std::string text;
                ok = wait(*job, &text, &done, [&] { return sink.is_writable(); });
                if (ok && !text.empty())
                    ok = event(chat ? json{{"content", text}} : json(text), nullptr);
            }
            if (!ok) {  // the client went away: free its slot at the next step
                job->cancel = true;
                work.notify_one();
                return false;
            }
            ok = event(chat ? json::object() : json(""), finish_name(job->finish));
            if (ok && include_usage) {
                const std::string line = "data: " +
                                         json{{"id", id},
                                              {"object", chunk_object},
                                              {"created", created},
                                              {"model", options.model_name},
                                              {"choices", json::array()},
                                              {"usage", usage()}}
                                             .dump() +
                                         "\n\n";
                ok = sink.write(line.data(), line.size());
            }
            if (ok) {
                static const char done_line[] = "data: [DONE]\n\n";
                sink.write(done_line, sizeof done_line - 1);
            }
            sink.done();
            return true;
        });
    }

    // POST /v1/embeddings: queued whole (503 when the queue is full), embedded
    // in batches with other requests' inputs, answered as OpenAI does.
    void embed(const httplib::Request& req, httplib::Response& res) {
        if (!embedding_model)
            throw ApiError{400,
                           "model '" + options.model_name +
                               "' is not an embedding model (its file gives no pooling type): "
                               "/v1/embeddings needs one, such as a BitNet embedding file",
                           ""};
        const int n_embd = engine.model().config().n_embd;
        EmbeddingRequest request = parse_embedding_request(req.body, request_context(), n_embd);
        auto job = std::make_shared<EmbedJob>();
        job->inputs = std::move(request.inputs);
        job->vectors.resize(job->inputs.size());
        {
            std::lock_guard<std::mutex> lock(mu);
            if (stopping) throw ApiError{503, "the server is shutting down", "", "server_error"};
            if (static_cast<int>(embed_queue.size()) >= options.max_queue)
                throw ApiError{503,
                               "too many requests: " + std::to_string(embed_queue.size()) +
                                   " are waiting; retry later",
                               "", "server_busy"};
            embed_queue.push_back(job);
            prompt_tokens += static_cast<uint64_t>(request.prompt_tokens);
        }
        work.notify_one();
        {
            std::unique_lock<std::mutex> lock(job->mu);
            job->cv.wait(lock, [&] { return job->done; });
        }
        if (!job->error.empty()) throw ApiError{500, job->error, "", "server_error"};
        json data = json::array();
        for (size_t i = 0; i < job->vectors.size(); ++i) {
            const std::vector<float>& v = job->vectors[i];
            json e = {{"object", "embedding"}, {"index", i}};
            if (request.base64)
                e["embedding"] =
                    base64(reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float));
            else
                e["embedding"] = v;
            data.push_back(std::move(e));
        }
        send_json(res, 200,
                  {{"object", "list"},
                   {"data", std::move(data)},
                   {"model", options.model_name},
                   {"usage",
                    {{"prompt_tokens", request.prompt_tokens},
                     {"total_tokens", request.prompt_tokens}}}});
    }

    std::string metrics_text() {
        const double uptime = std::chrono::duration<double>(Clock::now() - started).count();
        double recent_rate = 0;
        {
            std::lock_guard<std::mutex> lock(metrics_mu);
            const auto horizon = Clock::now() - std::chrono::seconds(10);
            while (!recent.empty() && recent.front().first < horizon) recent.pop_front();
            uint64_t n = 0;
            for (const auto& r : recent) n += r.second;
            recent_rate = static_cast<double>(n) / 10.0;
        }
        size_t queued = 0;
        int busy = 0;
        {
            std::lock_guard<std::mutex> lock(mu);
            queued = queue.size();
            busy = static_cast<int>(running.size());
        }
        std::string out;
        auto metric = [&](const char* name, const char* type, const char* help,
                          const std::string& value, const std::string& labels = "") {
            out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type +
                   "\n" + name + labels + " " + value + "\n";
        };
        {
            std::lock_guard<std::mutex> lock(metrics_mu);
            out +=
                "# HELP tern_requests_total HTTP requests answered, by status.\n"
                "# TYPE tern_requests_total counter\n";
            for (const auto& [status, n] : responses)
                out += "tern_requests_total{status=\"" + std::to_string(status) + "\"} " +
                       std::to_string(n) + "\n";
        }
        metric("tern_prompt_tokens_total", "counter", "Prompt tokens of accepted requests.",
               std::to_string(prompt_tokens.load()));
        metric("tern_completion_tokens_total", "counter", "Tokens generated.",
               std::to_string(completion_tokens.load()));
        metric("tern_prompt_tokens_cached_total", "counter",
               "Prompt tokens taken from a slot's KV cache instead of evaluated.",
               std::to_string(cached_tokens.load()));
        metric("tern_embeddings_total", "counter", "Inputs embedded (/v1/embeddings).",
               std::to_string(embeddings.load()));
        metric("tern_requests_cancelled_total", "counter",
               "Requests ended early (client gone, shutdown).", std::to_string(cancelled.load()));
        metric("tern_tokens_per_second", "gauge", "Tokens generated per second over the last 10 s.",
               std::to_string(recent_rate));
        metric("tern_queue_length", "gauge", "Requests waiting for a slot.",
               std::to_string(queued));
        metric("tern_slots_busy", "gauge", "Slots generating.", std::to_string(busy));
        metric("tern_slots_total", "gauge", "Slots (sequences at once).",
               std::to_string(engine.options().slots));
        metric("tern_uptime_seconds", "gauge", "Seconds since the server started.",
               std::to_string(uptime));
        return out;
    }

    void routes() {
        http.Post("/v1/chat/completions",
                  route([this](const httplib::Request& req, httplib::Response& res) {
                      generate(req, res, true);
                  }));
        http.Post("/v1/completions",
                  route([this](const httplib::Request& req, httplib::Response& res) {
                      generate(req, res, false);
                  }));
        http.Post("/v1/embeddings", route([this](const httplib::Request& req,
                                                 httplib::Response& res) { embed(req, res); }));
        http.Get("/v1/models", route([this](const httplib::Request&, httplib::Response& res) {
                     send_json(res, 200,
                               {{"object", "list"},
                                {"data", json::array({{{"id", options.model_name},
                                                       {"object", "model"},
                                                       {"created", unix_time()},
                                                       {"owned_by", "tern"}}})}});
                 }));
        http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
            send_json(res, 200, {{"status", stopping ? "shutting down" : "ok"}});
        });
        http.Get("/metrics", route([this](const httplib::Request&, httplib::Response& res) {
                     res.set_content(metrics_text(), "text/plain; version=0.0.4");
                 }));
        // Unknown routes and bodies too large get OpenAI-style errors too.
        http.set_error_handler([this](const httplib::Request&, httplib::Response& res) {
            if (!res.body.empty()) return;
            const ApiError e =
                res.status == 413
                    ? ApiError{413,
                               "the request body is larger than " +
                                   std::to_string(options.max_body) + " bytes",
                               ""}
                    : ApiError{res.status, "no route " + std::to_string(res.status), ""};
            send_json(res, res.status, error_body(e));
        });
        http.set_logger([this](const httplib::Request&, const httplib::Response& res) {
            std::lock_guard<std::mutex> lock(metrics_mu);
            ++responses[res.status];
        });
        http.set_payload_max_length(options.max_body);
        const int threads = options.http_threads > 0
                                ? options.http_threads
                                : engine.options().slots + options.max_queue + 8;
        http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    }
};

Server::Server(Engine& engine, const ServerOptions& options)
    : impl_(std::make_unique<Impl>(engine, options)) {
    impl_->routes();
}

Server::~Server() {
    stop();
    if (impl_->engine_thread.joinable()) impl_->engine_thread.join();
}

int Server::port() const { return impl_->options.port; }

const std::string& Server::chat_format_error() const { return impl_->format_error; }

void Server::run() {
    Impl& s = *impl_;
    if (s.options.port == 0) {
        s.options.port = s.http.bind_to_any_port(s.options.host.c_str());
        if (s.options.port < 0)
            throw Error("tern serve: cannot bind " + s.options.host + " to any port");
    } else if (!s.http.bind_to_port(s.options.host.c_str(), s.options.port)) {
        throw Error("tern serve: cannot bind " + s.options.host + ":" +
                    std::to_string(s.options.port) + " (in use, or not an address of this host)");
    }
    s.engine_thread = std::thread([&s] { s.engine_loop(); });
    s.http.listen_after_bind();
    {
        std::lock_guard<std::mutex> lock(s.mu);
        s.stopping = true;
    }
    s.work.notify_all();
    s.engine_thread.join();
}

void Server::stop() {
    Impl& s = *impl_;
    {
        std::lock_guard<std::mutex> lock(s.mu);
        s.stopping = true;  // the engine thread ends running and queued requests
    }
    s.work.notify_all();
    s.http.stop();
}

}  // namespace tern::server
