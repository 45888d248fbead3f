// See request.h. Every field is checked for type and range before use, so a
// malformed body becomes a 400 naming the field, never a JSON library
// exception.
#include "request.h"

#include <climits>

#include "tern/error.h"

namespace tern::server {
namespace {

using json = nlohmann::json;

// Typed optional fields of a JSON object; a wrong type or range is a 400 naming it.
struct Fields {
    const json& body;
    std::string prefix;  // "stream_options." for nested objects
    const json* get(const char* name) const {
        const auto it = body.find(name);
        return it == body.end() || it->is_null() ? nullptr : &*it;
    }
    std::string param(const char* name) const { return prefix + name; }
    double number(const char* name, double lo, double hi, double fallback) const {
        const json* v = get(name);
        if (!v) return fallback;
        if (!v->is_number())
            throw ApiError{400, "'" + param(name) + "' must be a number", param(name)};
        const double d = v->get<double>();
        if (!(d >= lo && d <= hi))
            throw ApiError{400,
                           "'" + param(name) + "' is " + v->dump() + ", expected " +
                               std::to_string(lo) + " to " + std::to_string(hi),
                           param(name)};
        return d;
    }
    long integer(const char* name, long lo, long hi, long fallback) const {
        const json* v = get(name);
        if (!v) return fallback;
        if (!v->is_number_integer())
            throw ApiError{400, "'" + param(name) + "' must be an integer", param(name)};
        // Unsigned values past LONG_MAX would wrap in get<long>().
        if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(LONG_MAX))
            throw ApiError{400, "'" + param(name) + "' is " + v->dump() + ", out of range",
                           param(name)};
        const long i = v->get<long>();
        if (i < lo || i > hi)
            throw ApiError{400,
                           "'" + param(name) + "' is " + std::to_string(i) + ", expected " +
                               std::to_string(lo) + " to " + std::to_string(hi),
                           param(name)};
        return i;
    }
    bool boolean(const char* name, bool fallback) const {
        const json* v = get(name);
        if (!v) return fallback;
        if (!v->is_boolean())
            throw ApiError{400, "'" + param(name) + "' must be true or false", param(name)};
        return v->get<bool>();
    }
};

json parse_body(const std::string& text) {
    json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) throw ApiError{400, "the request body is not valid JSON", ""};
    if (!body.is_object()) throw ApiError{400, "the request body must be a JSON object", ""};
    return body;
}

void check_model(const Fields& f, const std::string& model_name) {
    if (const json* m = f.get("model")) {
        if (!m->is_string()) throw ApiError{400, "'model' must be a string", "model"};
        if (m->get<std::string>() != model_name)
            throw ApiError{400,
                           "model '" + m->get<std::string>() + "' is not served here (it is '" +
                               model_name + "')",
                           "model", "model_not_found"};
    }
}

std::string text_of_content(const json& content, size_t index) {
    const std::string param = "messages[" + std::to_string(index) + "].content";
    if (content.is_string()) return content.get<std::string>();
    if (content.is_array()) {  // content parts: text only
        std::string text;
        for (const json& part : content) {
            const bool text_part = part.is_object() && part.contains("type") &&
                                   part["type"] == "text" && part.contains("text") &&
                                   part["text"].is_string();
            if (!text_part) throw ApiError{400, "only text content parts are supported", param};
            text += part["text"].get<std::string>();
        }
        return text;
    }
    throw ApiError{400, "'content' must be a string or an array of text parts", param};
}

std::vector<int> chat_prompt(const Fields& f, const RequestContext& c) {
    const json* messages = f.get("messages");
    if (!messages) throw ApiError{400, "'messages' is required", "messages"};
    if (!messages->is_array() || messages->empty())
        throw ApiError{400, "'messages' must be a non-empty array", "messages"};
    std::vector<ChatMessage> chat;
    for (size_t i = 0; i < messages->size(); ++i) {
        const json& m = (*messages)[i];
        const std::string at = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) throw ApiError{400, "each message must be an object", at};
        if (!m.contains("role") || !m["role"].is_string())
            throw ApiError{400, "'role' must be a string", at + ".role"};
        std::string role = m["role"].get<std::string>();
        if (role == "developer") role = "system";
        if (role != "system" && role != "user" && role != "assistant")
            throw ApiError{400, "role '" + role + "' is not system, user or assistant",
                           at + ".role"};
        if (!m.contains("content")) throw ApiError{400, "'content' is required", at + ".content"};
        chat.push_back({role, text_of_content(m["content"], i)});
    }
    if (!c.format) throw ApiError{400, c.format_error, "messages"};
    return chat_tokens(*c.format, c.tokenizer, chat, true, c.tokenizer.add_bos());
}

std::vector<int> completion_prompt(const Fields& f, const RequestContext& c) {
    const json* prompt = f.get("prompt");
    if (!prompt) throw ApiError{400, "'prompt' is required", "prompt"};
    const Tokenizer& tok = c.tokenizer;
    if (prompt->is_string()) {
        if (prompt->get<std::string>().empty()) throw ApiError{400, "'prompt' is empty", "prompt"};
        return tok.encode(prompt->get<std::string>(), tok.add_bos(), true);
    }
    if (prompt->is_array() && !prompt->empty()) {
        std::vector<int> ids;
        for (const json& v : *prompt) {
            // The JSON parser stores every non-negative integer as unsigned,
            // so a signed one here is negative.
            const bool id =
                v.is_number_unsigned() && v.get<uint64_t>() < static_cast<uint64_t>(tok.n_vocab());
            if (!id)
                throw ApiError{400,
                               "'prompt' must be a string or an array of token ids below " +
                                   std::to_string(tok.n_vocab()),
                               "prompt"};
            ids.push_back(static_cast<int>(v.get<uint64_t>()));
        }
        return ids;
    }
    throw ApiError{400, "'prompt' must be a non-empty string or array of token ids", "prompt"};
}

GenerationParams generation_params(const Fields& f, int prompt_tokens, const RequestContext& c,
                                   uint64_t seed) {
    GenerationParams p;
    const int n_ctx = c.n_ctx;
    const int room = n_ctx - prompt_tokens;
    if (room < 1)
        throw ApiError{400,
                       "the prompt has " + std::to_string(prompt_tokens) +
                           " tokens, more than the context of " + std::to_string(n_ctx) + " allows",
                       f.get("messages") ? "messages" : "prompt", "context_length_exceeded"};
    const char* max_name = f.get("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    p.max_tokens = static_cast<int>(f.integer(max_name, 1, 1L << 30, room));
    if (p.max_tokens > room)
        throw ApiError{400,
                       std::string("'") + max_name + "' is " + std::to_string(p.max_tokens) +
                           ", but the prompt's " + std::to_string(prompt_tokens) +
                           " tokens leave " + std::to_string(room) + " of the context of " +
                           std::to_string(n_ctx),
                       max_name, "context_length_exceeded"};
    p.sampling.temperature = static_cast<float>(f.number("temperature", 0, 2, 1.0));
    p.sampling.top_p = static_cast<float>(f.number("top_p", 1e-9, 1, 1.0));
    p.sampling.top_k = static_cast<int>(f.integer("top_k", 0, 1L << 30, 0));
    p.sampling.presence_penalty = static_cast<float>(f.number("presence_penalty", -2, 2, 0));
    p.sampling.frequency_penalty = static_cast<float>(f.number("frequency_penalty", -2, 2, 0));
    p.sampling.repeat_penalty = 1.0f;
    p.sampling.repeat_last_n = n_ctx;
    p.sampling.seed = static_cast<uint64_t>(
        f.integer("seed", LONG_MIN, LONG_MAX, static_cast<long>(seed & LONG_MAX)));
    if (f.integer("n", 1, 1, 1) != 1) throw ApiError{400, "'n': only 1 is supported", "n"};
    p.cache_prompt = f.boolean("cache_prompt", true);  // llama-server's extension
    if (const json* stop = f.get("stop")) {
        if (stop->is_string()) {
            p.stop = {stop->get<std::string>()};
        } else if (stop->is_array() && stop->size() <= 4) {
            for (const json& s : *stop) {
                if (!s.is_string()) throw ApiError{400, "'stop' entries must be strings", "stop"};
                p.stop.push_back(s.get<std::string>());
            }
        } else {
            throw ApiError{400, "'stop' must be a string or an array of up to 4 strings", "stop"};
        }
    }
    for (const char* unsupported : {"logprobs", "tools", "functions", "logit_bias"})
        if (const json* v = f.get(unsupported); v && !(v->is_boolean() && !v->get<bool>()))
            throw ApiError{400, std::string("'") + unsupported + "' is not supported by tern",
                           unsupported};
    return p;
}

// One input of an embedding request: text, or token ids.
std::vector<int> embedding_input(const json& v, const std::string& param, const Tokenizer& tok) {
    std::vector<int> ids;
    if (v.is_string()) {
        const std::string text = v.get<std::string>();
        if (text.empty()) throw ApiError{400, "'" + param + "' is an empty string", param};
        try {
            ids = tok.encode(text, tok.add_bos());
        } catch (const Error& e) {
            throw ApiError{400, e.what(), param};
        }
        if (tok.add_eos()) ids.push_back(tok.eos());
        return ids;
    }
    if (!v.is_array() || v.empty())
        throw ApiError{400,
                       "'" + param +
                           "' must be a non-empty string or a non-empty array of "
                           "token ids",
                       param};
    for (const json& id : v) {
        if (!(id.is_number_unsigned() && id.get<uint64_t>() < static_cast<uint64_t>(tok.n_vocab())))
            throw ApiError{
                400, "'" + param + "' must hold token ids below " + std::to_string(tok.n_vocab()),
                param};
        ids.push_back(static_cast<int>(id.get<uint64_t>()));
    }
    if (tok.add_eos() && ids.back() != tok.eos()) ids.push_back(tok.eos());
    return ids;
}

}  // namespace

EmbeddingRequest parse_embedding_request(const std::string& text, const RequestContext& context,
                                         int n_embd) {
    const json body = parse_body(text);
    const Fields f{body, ""};
    check_model(f, context.model_name);
    EmbeddingRequest r;
    const json* input = f.get("input");
    if (!input) throw ApiError{400, "'input' is required", "input"};
    // One text, or one array of token ids; else an array of inputs.
    const bool single =
        input->is_string() || (input->is_array() && !input->empty() && (*input)[0].is_number());
    if (!single && !(input->is_array() && !input->empty()))
        throw ApiError{400,
                       "'input' must be a string, an array of strings, an array of token ids or "
                       "an array of such arrays, and not empty",
                       "input"};
    if (!single && input->size() > static_cast<size_t>(kMaxEmbeddingInputs))
        throw ApiError{400,
                       "'input' has " + std::to_string(input->size()) + " entries, more than " +
                           std::to_string(kMaxEmbeddingInputs),
                       "input"};
    const size_t n = single ? 1 : input->size();
    for (size_t i = 0; i < n; ++i) {
        const std::string param = single ? "input" : "input[" + std::to_string(i) + "]";
        std::vector<int> ids =
            embedding_input(single ? *input : (*input)[i], param, context.tokenizer);
        if (static_cast<int>(ids.size()) > context.n_ctx)
            throw ApiError{400,
                           "'" + param + "' has " + std::to_string(ids.size()) +
                               " tokens, more than the context of " + std::to_string(context.n_ctx),
                           param, "context_length_exceeded"};
        r.prompt_tokens += static_cast<int>(ids.size());
        r.inputs.push_back(std::move(ids));
    }
    if (const json* e = f.get("encoding_format")) {
        if (!e->is_string() || (*e != "float" && *e != "base64"))
            throw ApiError{400, "'encoding_format' must be \"float\" or \"base64\"",
                           "encoding_format"};
        r.base64 = *e == "base64";
    }
    const long dims = f.integer("dimensions", 1, 1L << 30, n_embd);
    if (dims != n_embd)
        throw ApiError{400,
                       "'dimensions' is " + std::to_string(dims) +
                           ", but this model's embeddings "
                           "have " +
                           std::to_string(n_embd) +
                           " (tern does not shorten them: the model was not trained for it)",
                       "dimensions"};
    if (const json* u = f.get("user"); u && !u->is_string())
        throw ApiError{400, "'user' must be a string", "user"};
    return r;
}

json error_body(const ApiError& e) {
    return {{"error",
             {{"message", e.message},
              {"type", e.type},
              {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", nullptr}}}};
}

CompletionRequest parse_completion_request(const std::string& text, bool chat,
                                           const RequestContext& context, uint64_t seed) {
    const json body = parse_body(text);
    const Fields f{body, ""};
    check_model(f, context.model_name);
    CompletionRequest r;
    r.stream = f.boolean("stream", false);
    r.return_tokens = f.boolean("return_tokens", false);
    if (const json* so = f.get("stream_options")) {
        if (!so->is_object())
            throw ApiError{400, "'stream_options' must be an object", "stream_options"};
        r.include_usage = Fields{*so, "stream_options."}.boolean("include_usage", false);
    }
    try {
        r.prompt = chat ? chat_prompt(f, context) : completion_prompt(f, context);
    } catch (const Error& e) {  // text the tokenizer or chat format cannot take
        throw ApiError{400, e.what(), chat ? "messages" : "prompt"};
    }
    r.params = generation_params(f, static_cast<int>(r.prompt.size()), context, seed);
    return r;
}

}  // namespace tern::server
