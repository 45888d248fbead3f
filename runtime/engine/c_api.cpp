// tern.h over tern::Engine: every call catches what the C++ side throws and
// turns it into a status and a per-thread message.
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include "tern/engine.h"
#include "tern/error.h"
#include "tern/tern.h"

struct tern_engine {
    std::unique_ptr<tern::Engine> engine;
    std::optional<tern::ChatFormat> format;  // none: the file's template is not recognised
    std::string format_error;
};

namespace {

thread_local std::string g_error;

tern_status fail(tern_status s, const std::string& message) {
    g_error = message;
    return s;
}

// Runs body, mapping exceptions to `on_error` (tern::Error) or internal errors.
template <typename Body>
tern_status guarded(tern_status on_error, Body body) {
    try {
        g_error.clear();
        return body();
    } catch (const tern::Error& e) {
        return fail(on_error, e.what());
    } catch (const std::exception& e) {
        return fail(TERN_ERROR_INTERNAL, e.what());
    } catch (...) {
        return fail(TERN_ERROR_INTERNAL, "unknown error");
    }
}

tern_status copy_out(const std::string& s, char* out, size_t capacity, size_t* n) {
    *n = s.size();
    if (capacity < s.size() + 1)
        return fail(TERN_ERROR_BUFFER_TOO_SMALL,
                    "the output needs " + std::to_string(s.size() + 1) + " bytes");
    std::memcpy(out, s.c_str(), s.size() + 1);
    return TERN_OK;
}

}  // namespace

extern "C" {

const char* tern_last_error(void) { return g_error.c_str(); }

tern_status tern_engine_load(const char* path, const tern_engine_options* options,
                             tern_engine** engine) {
    if (!path || !engine) return fail(TERN_ERROR_INVALID_ARGUMENT, "path and engine are required");
    *engine = nullptr;
    return guarded(TERN_ERROR_MODEL, [&] {
        tern::EngineOptions o;
        if (options) {
            o.model.threads = options->threads;
            if (options->context > 0) o.model.n_ctx = options->context;
            if (options->slots > 0) o.slots = options->slots;
            if (options->prefill_chunk > 0) o.prefill_chunk = options->prefill_chunk;
            o.model.lm_head = options->file_head ? tern::LmHead::file : tern::LmHead::int8;
            if (options->bundle) o.model.bundle = options->bundle;
        }
        auto e = std::make_unique<tern_engine>();
        e->engine = tern::Engine::load(path, o);
        std::string source;
        try {  // completions need no chat format; tern_chat_prompt reports why there is none
            e->format = tern::choose_chat_format(e->engine->model().file(),
                                                 e->engine->model().config(), "", &source);
        } catch (const tern::Error& err) {
            e->format_error = err.what();
        }
        *engine = e.release();
        return TERN_OK;
    });
}

void tern_engine_free(tern_engine* engine) { delete engine; }

tern_status tern_tokenize(tern_engine* engine, const char* text, int add_bos, int parse_special,
                          int32_t* tokens, size_t capacity, size_t* n_tokens) {
    if (!engine || !text || !n_tokens || (!tokens && capacity > 0))
        return fail(TERN_ERROR_INVALID_ARGUMENT, "engine, text and n_tokens are required");
    return guarded(TERN_ERROR_INVALID_ARGUMENT, [&] {
        const std::vector<int> ids =
            engine->engine->tokenizer().encode(text, add_bos != 0, parse_special != 0);
        *n_tokens = ids.size();
        if (ids.size() > capacity)
            return fail(TERN_ERROR_BUFFER_TOO_SMALL,
                        "the text has " + std::to_string(ids.size()) + " tokens");
        std::copy(ids.begin(), ids.end(), tokens);
        return TERN_OK;
    });
}

tern_status tern_chat_prompt(tern_engine* engine, const char* const* roles,
                             const char* const* contents, size_t n_messages, char* text,
                             size_t capacity, size_t* n_bytes) {
    if (!engine || !n_bytes || (n_messages > 0 && (!roles || !contents)) || (!text && capacity))
        return fail(TERN_ERROR_INVALID_ARGUMENT,
                    "engine, roles, contents and n_bytes are required");
    return guarded(TERN_ERROR_INVALID_ARGUMENT, [&] {
        std::vector<tern::ChatMessage> messages;
        for (size_t i = 0; i < n_messages; ++i) {
            if (!roles[i] || !contents[i])
                return fail(TERN_ERROR_INVALID_ARGUMENT,
                            "message " + std::to_string(i) + " has a null role or content");
            messages.push_back({roles[i], contents[i]});
        }
        if (!engine->format) return fail(TERN_ERROR_MODEL, engine->format_error);
        return copy_out(engine->format->render(messages, true), text, capacity, n_bytes);
    });
}

tern_status tern_submit(tern_engine* engine, const int32_t* prompt, size_t n_prompt,
                        const tern_generation_params* params, tern_token_callback callback,
                        void* user, int* id) {
    if (!engine || !prompt || !callback || !id)
        return fail(TERN_ERROR_INVALID_ARGUMENT, "engine, prompt, callback and id are required");
    if (engine->engine->free_slots() == 0) return fail(TERN_ERROR_NO_SLOT, "every slot is busy");
    return guarded(TERN_ERROR_REQUEST, [&] {
        tern::GenerationParams p;
        if (params) {
            if (params->max_tokens > 0) p.max_tokens = params->max_tokens;
            p.sampling.temperature = params->temperature;
            p.sampling.top_k = params->top_k;
            p.sampling.top_p = params->top_p > 0 ? params->top_p : 1.0f;
            p.sampling.presence_penalty = params->presence_penalty;
            p.sampling.frequency_penalty = params->frequency_penalty;
            p.sampling.seed = params->seed;
        } else {
            p.sampling.temperature = 0;
        }
        p.sampling.repeat_penalty = 1.0f;
        *id = engine->engine->submit(std::vector<int>(prompt, prompt + n_prompt), p,
                                     [callback, user](const tern::TokenEvent& e) {
                                         callback(user, e.id, e.token, e.text.data(), e.text.size(),
                                                  static_cast<tern_finish>(e.finish));
                                     });
        return TERN_OK;
    });
}

tern_status tern_cancel(tern_engine* engine, int id) {
    if (!engine) return fail(TERN_ERROR_INVALID_ARGUMENT, "engine is required");
    engine->engine->cancel(id);
    return TERN_OK;
}

tern_status tern_step(tern_engine* engine, int* active) {
    if (!engine) return fail(TERN_ERROR_INVALID_ARGUMENT, "engine is required");
    return guarded(TERN_ERROR_INTERNAL, [&] {
        engine->engine->step();
        if (active) *active = engine->engine->active();
        return TERN_OK;
    });
}

}  // extern "C"
