// tern run: generate text from a prompt, streamed, then the prompt and
// generation speeds. A client of Engine, as tern chat and tern serve are.
#include <chrono>
#include <cstdio>

#include "commands.h"
#include "model_flags.h"
#include "sampler_flags.h"
#include "tern/engine.h"
#include "tern/error.h"

namespace tern::cli {

int run_command(int argc, char** argv) {
    ArgParser args("run", "-m FILE -p PROMPT [-n N] [options]");
    add_model_flags(args, "0");
    args.option("prompt", "p", "TEXT", "", "prompt");
    args.option("n-predict", "n", "N", "64", "tokens to generate");
    args.option("stop", "", "TEXT", "", "end the text before the first TEXT generated");
    add_sampler_flags(args);
    args.flag("ignore-eos", "", "keep generating past the end-of-generation token");
    if (!args.parse(argc, argv)) return 0;
    args.require("prompt");
    GenerationParams params;
    params.sampling = sampler_options(args);
    params.ignore_eos = args.on("ignore-eos");
    if (!args.str("stop").empty()) params.stop = {args.str("stop")};
    const int n_predict = static_cast<int>(args.integer("n-predict", 0, 1 << 20));
    const ModelOptions options =
        model_options(args, static_cast<int>(args.integer("threads", 0, 1024)));

    auto engine = load_single_engine(args, options, true);
    const Model& model = engine->model();
    const Tokenizer& tok = engine->tokenizer();
    const std::vector<int> prompt = tok.encode(args.str("prompt"), tok.add_bos());
    std::fprintf(stderr, "loaded in %.2f s on %s, %d threads; prompt %zu tokens\n",
                 model.load_seconds(), model.backend().bundle().target().c_str(),
                 model.backend().threads(), prompt.size());
    std::printf("%s", args.str("prompt").c_str());
    std::fflush(stdout);

    // The first token comes from the step that evaluates the prompt: its time
    // is the prompt's; later tokens are generation.
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    auto t1 = t0;
    int generated = 0;
    if (n_predict == 0) {  // the prompt alone, for its speed
        engine->model().eval(prompt);
        t1 = clock::now();
    } else {
        params.max_tokens = std::min(n_predict, model.context() - static_cast<int>(prompt.size()));
        if (params.max_tokens < 1)
            throw Error("the prompt's " + std::to_string(prompt.size()) +
                        " tokens fill the context of " + std::to_string(model.context()) +
                        "; use a larger -c");
        engine->submit(prompt, params, [&](const TokenEvent& e) {
            if (generated == 0) t1 = clock::now();
            generated = e.completion_tokens;
            std::fputs(e.text.c_str(), stdout);
            std::fflush(stdout);
        });
        while (engine->step()) {
        }
    }
    const auto t2 = clock::now();
    // Generation counts the tokens after the first, over the time after it.
    const double pp = std::chrono::duration<double>(t1 - t0).count();
    const double tg = std::chrono::duration<double>(t2 - t1).count();
    std::printf("\n");
    std::fprintf(stderr,
                 "prompt: %zu tokens in %.3f s (%.1f tokens/s); generation: %d tokens in %.3f s "
                 "(%.1f tokens/s)\n",
                 prompt.size(), pp, pp > 0 ? prompt.size() / pp : 0.0, generated, tg,
                 generated > 1 && tg > 0 ? (generated - 1) / tg : 0.0);
    return 0;
}

}  // namespace tern::cli
