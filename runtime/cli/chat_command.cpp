// tern chat: a conversation with an instruct model, streamed, in the prompt
// format of the model's chat template; a client of Engine. The slot's KV cache
// holds the conversation: each turn evaluates only its new tokens. Ctrl-C stops the current answer;
// /reset starts over; /exit or end of input quits.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "model_flags.h"
#include "sampler_flags.h"
#include "tern/chat_format.h"
#include "tern/engine.h"
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
    auto engine = load_single_engine(args, options, !args.given("prompt"));
    const Model& model = engine->model();
    const Tokenizer& tok = engine->tokenizer();
    std::string source;
    const ChatFormat format =
        choose_chat_format(model.file(), model.config(), args.str("chat-format"), &source);
    check_vocabulary(format, tok, model.file().path());
    const bool interactive = !args.given("prompt");
    if (interactive)
        std::fprintf(stderr,
                     "%s, chat format %s (%s); context %d tokens.\n"
                     "Ctrl-C stops an answer; /reset starts over; /exit or Ctrl-D quits.\n",
                     model.config().family.c_str(), format.name.c_str(), source.c_str(),
                     model.context());
    catch_sigint();

    GenerationParams params;
    params.sampling = so;
    // The conversation so far, as tokens. Each turn submits all of it: the
    // engine keeps the prefix its slot's cache holds (every earlier turn) and
    // evaluates only the new tokens.
    std::vector<int> history;
    // Before the next user turn: the closing marker of the last answer, and the
    // system message at the start of a conversation.
    std::string pending;
    std::vector<ChatMessage> pending_messages;
    auto start = [&] {
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
            std::fprintf(stderr, "[prompt, %zu tokens at position %zu]\n%s\n[tokens]",
                         tokens.size(), history.size(), text.c_str());
            for (int id : tokens) std::fprintf(stderr, " %d", id);
            std::fprintf(stderr, "\n");
        }
        const int n_ctx = model.context();
        const int room = n_ctx - static_cast<int>(history.size() + tokens.size());
        if (room < 1) {
            std::fprintf(stderr,
                         "the context of %d tokens is full (%zu used, %zu more needed): /reset "
                         "or a larger -c\n",
                         n_ctx, history.size(), tokens.size());
            if (!interactive) return 1;
            continue;
        }
        history.insert(history.end(), tokens.begin(), tokens.end());
        params.max_tokens = std::min(n_predict, room);
        FinishReason finish = FinishReason::none;
        g_interrupted = false;
        const int id = engine->submit(history, params, [&](const TokenEvent& e) {
            std::fputs(e.text.c_str(), stdout);
            std::fflush(stdout);
            // The end-of-turn token that stops an answer is never evaluated:
            // end_of_turn() below stands for it.
            if (e.token >= 0 && !tok.is_end_of_generation(e.token)) history.push_back(e.token);
            finish = e.finish;
        });
        while (engine->step())
            if (g_interrupted) engine->cancel(id);
        if (interactive && finish != FinishReason::stop)
            std::fprintf(stderr, " [%s]\n",
                         finish == FinishReason::cancelled ? "stopped by Ctrl-C"
                                                           : "n-predict or the context reached");
        std::fputs("\n", stdout);
        // The answer's closing marker joins the history with the next turn.
        pending = format.end_of_turn();
        g_interrupted = false;
    }
    return 0;
}

}  // namespace tern::cli
