// Flags every command that loads a model shares: -m, -t, -c, --activation,
// --lm-head, --cache-type, --weights, --ubatch-size, --bundle.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "arg_parser.h"
#include "progress.h"
#include "tern/engine.h"
#include "tern/kernels.h"
#include "tern/model.h"

namespace tern::cli {

inline void add_model_flags(ArgParser& args, const std::string& threads_default,
                            const std::string& ctx_default = "2048",
                            const std::string& ctx_help = "KV cache length in tokens") {
    args.option("model", "m", "FILE", "", "GGUF BitNet model");
    args.option("threads", "t", "N", threads_default, "threads (0: every core)");
    args.option("ctx-size", "c", "N", ctx_default, ctx_help);
    args.option("activation", "", "relu2|silu|gelu", "",
                "feed-forward activation (default: the file's, else relu2)");
    args.option("lm-head", "", "int8|int4|file", "int8",
                "LM head: int8 rows, 4-bit rows (groups of 64, f16 scales), or the embedding "
                "at file precision");
    args.option("cache-type", "", "f16|f32", "f16",
                "KV cache element type (f16: half the memory; f32: keys and values unrounded)");
    args.option("weights", "", "tuned|2|1.6", "tuned",
                "stored ternary weights: as the bundle was tuned, 2-bit codes or 1.6-bit "
                "base-3 bytes");
    args.option("ubatch-size", "ub", "N", "128",
                "tokens evaluated at once; longer prompts run in chunks of N (bounds their "
                "activations' memory)");
    args.option("bundle", "", "TARGET", "",
                "kernel bundle to use (default: the best this CPU runs)");
}

inline ModelOptions model_options(const ArgParser& args, int threads) {
    ModelOptions o;
    o.bundle = args.str("bundle");
    o.threads = threads;
    if (!args.str("ctx-size").empty())
        o.n_ctx = static_cast<int>(args.integer("ctx-size", 1, 1 << 20));
    if (!args.str("activation").empty())
        o.activation = parse_activation(args.choice("activation", activation_names()));
    o.lm_head = parse_lm_head(args.choice("lm-head", {"int8", "int4", "file"}));
    o.cache_type = parse_cache_type(args.choice("cache-type", {"f16", "f32"}));
    o.weights = parse_weight_format(args.choice("weights", {"tuned", "2", "1.6"}));
    o.ubatch = static_cast<int>(args.integer("ubatch-size", 1, 1 << 20));
    return o;
}

// On `backend` if given, else on one made from --bundle and -t.
inline std::unique_ptr<Model> load_model(const ArgParser& args, ModelOptions o, bool show_progress,
                                         std::shared_ptr<Backend> backend = nullptr) {
    args.require("model");
    Progress bar("loading " + args.str("model"));
    if (show_progress) o.progress = [&](int done, int total) { bar.update(done, total); };
    return backend ? Model::load(args.str("model"), o, std::move(backend))
                   : Model::load(args.str("model"), o);
}

// An engine of one sequence (tern run, tern chat): its prompt evaluated at
// once, as there is no other sequence to interleave with.
inline std::unique_ptr<Engine> load_single_engine(const ArgParser& args, ModelOptions o,
                                                  bool show_progress) {
    args.require("model");
    Progress bar("loading " + args.str("model"));
    if (show_progress) o.progress = [&](int done, int total) { bar.update(done, total); };
    EngineOptions eo;
    eo.model = o;
    eo.slots = 1;
    eo.prefill_chunk = o.n_ctx;
    return Engine::load(args.str("model"), eo);
}

}  // namespace tern::cli
