// See tern/chat_format.h. The formats as their models' templates write them
// (the LLaMA-3 and 2B4T templates trim each message; Falcon3's does not).
#include "tern/chat_format.h"

#include <cctype>

#include "tern/error.h"

namespace tern {
namespace {

std::string trim(const std::string& s) {
    const char* space = " \t\r\n";
    const size_t a = s.find_first_not_of(space);
    if (a == std::string::npos) return "";
    return s.substr(a, s.find_last_not_of(space) - a + 1);
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

}  // namespace

const std::vector<std::string>& chat_format_names() {
    static const std::vector<std::string> names = {"llama3", "bitnet", "falcon3"};
    return names;
}

ChatFormat chat_format(const std::string& name) {
    if (name == "llama3") return {name, {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}};
    if (name == "bitnet") return {name, {"<|eot_id|>"}};
    if (name == "falcon3") return {name, {}};
    std::string known;
    for (const std::string& n : chat_format_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("chat format '" + name + "' is not known (expected " + known + ")");
}

ChatFormat::Parts ChatFormat::parts(const ChatMessage& m) const {
    if (name == "llama3")
        return {"<|start_header_id|>" + m.role + "<|end_header_id|>\n\n", trim(m.content),
                "<|eot_id|>"};
    if (name == "bitnet") {
        std::string role = m.role;
        if (!role.empty()) role[0] = static_cast<char>(std::toupper(role[0]));
        return {role + ": ", trim(m.content), "<|eot_id|>"};
    }
    return {"<|" + m.role + "|>\n", m.content, "\n"};
}

std::string ChatFormat::message(const ChatMessage& m) const {
    const Parts p = parts(m);
    return p.before + p.content + p.after;
}

std::string ChatFormat::assistant_prompt() const {
    if (name == "llama3") return "<|start_header_id|>assistant<|end_header_id|>\n\n";
    if (name == "bitnet") return "Assistant: ";
    return "<|assistant|>\n";
}

std::string ChatFormat::end_of_turn() const { return name == "falcon3" ? "\n" : "<|eot_id|>"; }

std::string ChatFormat::render(const std::vector<ChatMessage>& messages,
                               bool add_assistant_prompt) const {
    std::string text;
    for (const ChatMessage& m : messages) text += message(m);
    return add_assistant_prompt ? text + assistant_prompt() : text;
}

std::vector<int> chat_tokens(const ChatFormat& format, const Tokenizer& tokenizer,
                             const std::vector<ChatMessage>& messages, bool add_assistant_prompt,
                             bool add_bos) {
    std::vector<int> out;
    if (add_bos) out.push_back(tokenizer.bos());
    auto append = [&](const std::string& text, bool special) {
        const std::vector<int> ids = tokenizer.encode(text, false, special);
        out.insert(out.end(), ids.begin(), ids.end());
    };
    for (const ChatMessage& m : messages) {
        const ChatFormat::Parts p = format.parts(m);
        append(p.before, true);
        append(p.content, false);
        append(p.after, true);
    }
    if (add_assistant_prompt) append(format.assistant_prompt(), true);
    return out;
}

std::string recognise_chat_template(const std::string& t) {
    if (contains(t, "<|start_header_id|>") && contains(t, "<|end_header_id|>")) return "llama3";
    if (contains(t, "<|eot_id|>") && (contains(t, "capitalize") || contains(t, "Assistant: ")))
        return "bitnet";
    if (contains(t, "<|assistant|>") && contains(t, "<|user|>")) return "falcon3";
    return "";
}

ChatFormat choose_chat_format(const gguf::File& file, const ModelConfig& config,
                              const std::string& name, std::string* source) {
    if (!name.empty()) {
        *source = "set by --chat-format";
        return chat_format(name);
    }
    if (file.has("tokenizer.chat_template")) {
        const std::string found =
            recognise_chat_template(file.get_string("tokenizer.chat_template"));
        if (found.empty())
            throw Error(file.path() +
                        ": tokenizer.chat_template is not a format tern recognises (LLaMA-3, "
                        "BitNet b1.58 2B4T, Falcon3); give --chat-format llama3|bitnet|falcon3");
        *source = "recognised in the file's tokenizer.chat_template";
        return chat_format(found);
    }
    *source = "the default of " + config.family + " (the file has no tokenizer.chat_template)";
    return chat_format(config.chat_format);
}

}  // namespace tern
