// Sampling flags shared by the commands that generate text (run, chat).
#pragma once

#include "arg_parser.h"
#include "tern/sampler.h"

namespace tern::cli {

inline void add_sampler_flags(ArgParser& args, const std::string& temp_default = "0.8") {
    args.option("temp", "", "T", temp_default, "temperature (0: greedy)");
    args.option("top-k", "", "K", "40", "sample from the K most likely tokens (0: all)");
    args.option("top-p", "", "P", "0.95", "sample from the smallest set with probability P");
    args.option("repeat-penalty", "", "R", "1.1", "penalty for recently seen tokens (1: none)");
    args.option("repeat-last-n", "", "N", "64", "how many recent tokens the penalty sees");
    args.option("seed", "s", "N", "0", "sampling seed");
}

inline SamplerOptions sampler_options(const ArgParser& args) {
    SamplerOptions so;
    so.temperature = static_cast<float>(args.number("temp", 0, 100));
    so.top_k = static_cast<int>(args.integer("top-k", 0, 1 << 30));
    so.top_p = static_cast<float>(args.number("top-p", 1e-6, 1));
    so.repeat_penalty = static_cast<float>(args.number("repeat-penalty", 0.01, 100));
    so.repeat_last_n = static_cast<int>(args.integer("repeat-last-n", 0, 1 << 20));
    so.seed = static_cast<uint64_t>(args.integer("seed", 0, 1L << 62));
    return so;
}

}  // namespace tern::cli
