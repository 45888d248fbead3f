// tern run: generate text from a prompt, streamed, then the prompt and
// generation speeds.
#include <chrono>
#include <cstdio>

#include "commands.h"
#include "model_flags.h"
#include "sampler_flags.h"
#include "tern/sampler.h"
#include "tern/tokenizer.h"

namespace tern::cli {

int run_command(int argc, char** argv) {
    ArgParser args("run", "-m FILE -p PROMPT [-n N] [options]");
    add_model_flags(args, "0");
    args.option("prompt", "p", "TEXT", "", "prompt");
    args.option("n-predict", "n", "N", "64", "tokens to generate");
    add_sampler_flags(args);
    args.flag("ignore-eos", "", "keep generating past the end-of-generation token");
    if (!args.parse(argc, argv)) return 0;
    args.require("prompt");
    const SamplerOptions so = sampler_options(args);
    const int n_predict = static_cast<int>(args.integer("n-predict", 0, 1 << 20));
    const ModelOptions options =
        model_options(args, static_cast<int>(args.integer("threads", 0, 1024)));

    auto model = load_model(args, options, true);
    const Tokenizer tok = Tokenizer::from_gguf(model->file());
    Sampler sampler(so);
    std::vector<int> tokens = tok.encode(args.str("prompt"), tok.add_bos());
    std::fprintf(stderr, "loaded in %.2f s on %s, %d threads; prompt %zu tokens\n",
                 model->load_seconds(), model->backend().bundle().target().c_str(),
                 model->options().threads, tokens.size());
    std::printf("%s", args.str("prompt").c_str());
    std::fflush(stdout);

    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    std::vector<float> logits = model->eval(tokens);
    const auto t1 = clock::now();
    int generated = 0;
    for (; generated < n_predict; ++generated) {
        const int next = sampler.sample(logits, tokens);
        if (tok.is_end_of_generation(next) && !args.on("ignore-eos")) break;
        tokens.push_back(next);
        std::printf("%s", tok.decode(next).c_str());
        std::fflush(stdout);
        if (generated + 1 < n_predict) logits = model->eval({next});
    }
    const auto t2 = clock::now();
    const double pp = std::chrono::duration<double>(t1 - t0).count();
    const double tg = std::chrono::duration<double>(t2 - t1).count();
    std::printf("\n");
    std::fprintf(stderr,
                 "prompt: %zu tokens in %.3f s (%.1f tokens/s); generation: %d tokens in %.3f s "
                 "(%.1f tokens/s)\n",
                 tokens.size() - generated, pp, (tokens.size() - generated) / pp, generated, tg,
                 generated > 0 ? generated / tg : 0.0);
    return 0;
}

}  // namespace tern::cli
