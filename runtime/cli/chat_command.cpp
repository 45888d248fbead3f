// tern chat: a conversation with an instruct model, streamed, in the prompt
// format of the model's chat template. The KV cache holds the conversation:
// each turn evaluates only its new tokens. Ctrl-C stops the current answer;
// /reset starts over; /exit or end of input quits.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "model_flags.h"
#include "sampler_flags.h"
#include "tern/chat_format.h"
#include "tern/error.h"
#include "tern/tokenizer.h"

namespace tern::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted = true; }

// SIGINT sets a flag instead of ending the process; a blocked read returns
// (no SA_RESTART) so that the prompt can notice it.
void catch_sigint() {
    struct sigaction sa = {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
}

// Text that a token of a chat template needs, missing from the vocabulary, is
// an error before the conversation starts (it would be spelled out as text).
void check_vocabulary(const ChatFormat& format, const Tokenizer& tok, const std::string& path) {
    for (const std::string& s : format.special)
        if (tok.find(s) < 0)
            throw Error(path + ": the chat format '" + format.name + "' needs the token " + s +
                        ", which the vocabulary lacks; choose another with --chat-format");
}

}  // namespace

int chat_command(int argc, char** argv) {
    ArgParser args("chat", "-m FILE [-p PROMPT] [--system TEXT] [options]");
    add_model_flags(args, "0", "4096");
    args.option("prompt", "p", "TEXT", "",
                "one user turn, answered, then exit (default: interactive)");
    args.option("system", "", "TEXT", "", "system message at the start of the conversation");
    args.option("chat-format", "", "llama3|bitnet|falcon3", "",
                "prompt format (default: recognised from the file's chat template)");
    args.option("n-predict", "n", "N", "512", "most tokens per answer");
    add_sampler_flags(args);
    args.flag("verbose-prompt", "", "print each turn's formatted prompt and its tokens (stderr)");
    if (!args.parse(argc, argv)) return 0;
    const SamplerOptions so = sampler_options(args);
    const int n_predict = static_cast<int>(args.integer("n-predict", 1, 1 << 20));
    const ModelOptions options =
        model_options(args, static_cast<int>(args.integer("threads", 0, 1024)));
    auto model = load_model(args, options, !args.given("prompt"));
    const Tokenizer tok = Tokenizer::from_gguf(model->file());
    std::string source;
    const ChatFormat format =
        choose_chat_format(model->file(), model->config(), args.str("chat-format"), &source);
    check_vocabulary(format, tok, model->file().path());
    const bool interactive = !args.given("prompt");
    if (interactive)
        std::fprintf(stderr,
                     "%s, chat format %s (%s); context %d tokens.\n"
                     "Ctrl-C stops an answer; /reset starts over; /exit or Ctrl-D quits.\n",
                     model->config().family.c_str(), format.name.c_str(), source.c_str(),
                     model->context());
    catch_sigint();

    Sampler sampler(so);
    std::vector<int> history;  // the tokens in the KV cache
    // Before the next user turn: the closing marker of the last answer, and the
    // system message at the start of a conversation.
    std::string pending;
    std::vector<ChatMessage> pending_messages;
    auto start = [&] {
        model->reset();
        history.clear();
        pending.clear();
        pending_messages.clear();
        if (!args.str("system").empty()) pending_messages.push_back({"system", args.str("system")});
    };
    start();
    for (bool first = true;; first = false) {
        std::string user;
        if (!interactive) {
            if (!first) break;
            user = args.str("prompt");
        } else {
            std::fprintf(stdout, "\n> ");
            std::fflush(stdout);
            if (!std::getline(std::cin, user)) {
                if (!g_interrupted) break;  // end of input
                g_interrupted = false;      // Ctrl-C at the prompt: a new prompt
                std::cin.clear();
                clearerr(stdin);
                continue;
            }
            if (user == "/exit" || user == "/quit") break;
            if (user == "/reset") {
                start();
                std::fprintf(stderr, "(conversation reset)\n");
                continue;
            }
            if (user.empty()) continue;
        }
        pending_messages.push_back({"user", user});
        const std::string text = pending + format.render(pending_messages, true);
        // Messages are tokenized as text: typing "<|eot_id|>" cannot end a turn.
        std::vector<int> tokens = tok.encode(pending, history.empty() && tok.add_bos(), true);
        for (int id : chat_tokens(format, tok, pending_messages, true, false)) tokens.push_back(id);
        pending_messages.clear();
        if (args.on("verbose-prompt")) {
            std::fprintf(stderr, "[prompt, %zu tokens at position %d]\n%s\n[tokens]", tokens.size(),
                         model->position(), text.c_str());
            for (int id : tokens) std::fprintf(stderr, " %d", id);
            std::fprintf(stderr, "\n");
        }
        const int n_ctx = model->context();
        if (model->position() + static_cast<int>(tokens.size()) + 1 > n_ctx) {
            std::fprintf(stderr,
                         "the context of %d tokens is full (%d used, %zu more needed): /reset "
                         "or a larger -c\n",
                         n_ctx, model->position(), tokens.size());
            if (!interactive) return 1;
            continue;
        }
        std::vector<float> logits = model->eval(tokens);
        history.insert(history.end(), tokens.begin(), tokens.end());
        g_interrupted = false;
        int generated = 0;
        const char* why = "n-predict reached";
        while (true) {
            if (g_interrupted) {
                why = "stopped by Ctrl-C";
                break;
            }
            const int next = sampler.sample(logits, history);
            if (tok.is_end_of_generation(next)) {
                why = nullptr;
                break;
            }
            std::fputs(tok.decode(next).c_str(), stdout);
            std::fflush(stdout);
            history.push_back(next);
            if (++generated == n_predict || model->position() + 2 > n_ctx) break;
            logits = model->eval({next});
        }
        if (why && interactive) std::fprintf(stderr, " [%s]\n", why);
        std::fputs("\n", stdout);
        // The answer's closing marker joins the history with the next turn.
        pending = format.end_of_turn();
        g_interrupted = false;
    }
    return 0;
}

}  // namespace tern::cli
