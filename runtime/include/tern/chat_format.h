// Chat prompt formats: how a conversation's messages become the text a model
// was trained on. tern recognises the templates its models ship
// (tokenizer.chat_template) by their markers instead of running Jinja: LLaMA-3's
// header turns, BitNet b1.58 2B4T's "Role: content<|eot_id|>" turns, Falcon3's
// "<|role|>" lines.
#pragma once

#include <string>
#include <vector>

#include "tern/gguf.h"
#include "tern/model.h"
#include "tern/tokenizer.h"

namespace tern {

struct ChatMessage {
    std::string role;  // "system", "user" or "assistant"
    std::string content;
};

struct ChatFormat {
    std::string name;                  // "llama3", "bitnet" or "falcon3"
    std::vector<std::string> special;  // control tokens the format needs in the vocabulary
    // The text of one message (its closing marker included).
    std::string message(const ChatMessage& m) const;
    // The text that opens the assistant's answer.
    std::string assistant_prompt() const;
    // The text that closes an assistant's answer (what message() appends after
    // the content): added to the history when generation stops, since the
    // end-of-turn token that stopped it was sampled but never evaluated.
    std::string end_of_turn() const;
    // Messages, then the assistant prompt when add_assistant_prompt; no BOS
    // (the tokenizer adds it).
    std::string render(const std::vector<ChatMessage>& messages, bool add_assistant_prompt) const;
    // One message as (markers before, content, markers after): message() is
    // their concatenation.
    struct Parts {
        std::string before, content, after;
    };
    Parts parts(const ChatMessage& m) const;
};

// The tokens of a conversation in a format: the format's markers become their
// control tokens, the messages' contents never do (a user cannot forge a turn by
// typing "<|eot_id|>"). BOS first when add_bos; the assistant prompt last when
// add_assistant_prompt.
std::vector<int> chat_tokens(const ChatFormat& format, const Tokenizer& tokenizer,
                             const std::vector<ChatMessage>& messages, bool add_assistant_prompt,
                             bool add_bos);

// The formats by name; throws naming the known ones otherwise.
ChatFormat chat_format(const std::string& name);
const std::vector<std::string>& chat_format_names();

// The format recognised in a chat template, or "" when it is none tern knows.
std::string recognise_chat_template(const std::string& jinja);

// The format for a model: `name` when given, else the file's
// tokenizer.chat_template when recognised (an unrecognised one is an error
// asking for --chat-format), else the family's. `source` says which.
ChatFormat choose_chat_format(const gguf::File& file, const ModelConfig& config,
                              const std::string& name, std::string* source);

}  // namespace tern
