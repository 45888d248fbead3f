// tern eval: the logits of the last position after a sequence of token ids
// (no BOS added), as JSON: for comparing with other runtimes.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "commands.h"
#include "model_flags.h"
#include "tern/error.h"
#include "tern/reference_model.h"

namespace tern::cli {
namespace {

// One step of the JSON: position, greedy token and logits. Returns the greedy token.
int print_step(size_t position, const float* logits, size_t n_vocab, bool last) {
    const int next = static_cast<int>(std::max_element(logits, logits + n_vocab) - logits);
    std::printf("  {\"position\": %zu, \"greedy\": %d, \"logits\": [", position, next);
    for (size_t i = 0; i < n_vocab; ++i) std::printf("%s%.6g", i ? "," : "", logits[i]);
    std::printf("]}%s\n", last ? "" : ",");
    return next;
}

}  // namespace

int eval_command(int argc, char** argv) {
    ArgParser args("eval", "-m FILE --tokens \"ID ID ...\" [options]");
    add_model_flags(args, "0");
    args.option("tokens", "", "\"ID ID ...\"", "",
                "token ids to evaluate, separated by spaces or commas");
    args.option("steps", "", "N", "0",
                "then N greedy decoding steps, each printing its logits too");
    args.option("follow", "", "\"ID ID ...\"", "",
                "decoding steps feed these ids instead of the greedy ones (one step each; "
                "to compare with another runtime along its own choices)");
    args.option("reference", "", "per-token|per-block|none", "",
                "run the plain reference forward pass instead, with activations quantised per "
                "token (as tern), per 256-value block (as llama.cpp) or not at all; LM head at "
                "file precision; slow");
    if (!args.parse(argc, argv)) return 0;
    args.require("tokens");
    auto token_ids = [&](const std::string& flag) {
        std::vector<int> ids;
        std::string text = args.str(flag);
        for (char& c : text)
            if (c == ',') c = ' ';
        std::istringstream in(text);
        for (std::string w; in >> w;) {
            char* end = nullptr;
            const long id = std::strtol(w.c_str(), &end, 10);
            if (*end != '\0' || id < 0)
                throw Error("tern eval: --" + flag + " holds '" + w + "', expected token ids");
            ids.push_back(static_cast<int>(id));
        }
        return ids;
    };
    const std::vector<int> ids = token_ids("tokens"), follow = token_ids("follow");
    if (ids.empty()) throw Error("tern eval: --tokens is empty");
    if (args.given("follow") && args.given("steps"))
        throw Error("tern eval: give --steps or --follow, not both");
    const int steps = args.given("follow") ? static_cast<int>(follow.size())
                                           : static_cast<int>(args.integer("steps", 0, 1 << 16));
    if (args.given("reference")) {
        const ref::ActivationQuant quant = ref::parse_activation_quant(
            args.choice("reference", {"per-token", "per-block", "none"}));
        if (steps > 0 && follow.empty())
            throw Error("tern eval: --reference needs --follow for decoding steps");
        args.require("model");
        const gguf::File file = gguf::File::open(args.str("model"));
        const Activation act =
            model_config(file, args.str("activation").empty()
                                   ? std::nullopt
                                   : std::optional<Activation>(parse_activation(
                                         args.choice("activation", {"relu2", "silu"}))))
                .activation;
        std::vector<int> all = ids;
        all.insert(all.end(), follow.begin(), follow.end());
        // F32 keys and values unless --cache-type says otherwise: the plain
        // reference, as other runtimes are compared against.
        const CacheType cache = args.given("cache-type")
                                    ? parse_cache_type(args.choice("cache-type", {"f32", "f16"}))
                                    : CacheType::f32;
        const std::vector<float> logits = ref::forward(file, all, act, quant, cache);
        const size_t V = logits.size() / all.size();
        std::printf("{\"activation\": \"%s\", \"reference\": \"%s\", \"steps\": [\n",
                    activation_name(act), args.str("reference").c_str());
        for (int s = 0; s <= steps; ++s) {
            const size_t t = ids.size() - 1 + s;
            print_step(t, &logits[t * V], V, s == steps);
        }
        std::printf("]}\n");
        return 0;
    }
    ModelOptions options = model_options(args, static_cast<int>(args.integer("threads", 0, 1024)));
    auto model = load_model(args, options, false);
    std::printf("{\"activation\": \"%s\", \"lm_head\": \"%s\", \"steps\": [\n",
                activation_name(model->config().activation),
                lm_head_name(model->options().lm_head));
    std::vector<float> logits = model->eval(ids);
    for (int s = 0; s <= steps; ++s) {
        const int next =
            print_step(model->position() - 1, logits.data(), logits.size(), s == steps);
        if (s < steps) logits = model->eval({follow.empty() ? next : follow[s]});
    }
    std::printf("]}\n");
    return 0;
}

}  // namespace tern::cli
