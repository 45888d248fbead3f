// tern gen-model: a random-weight BitNet model with the real architecture.
#include <chrono>
#include <cstdio>

#include "arg_parser.h"
#include "commands.h"
#include "progress.h"
#include "tern/synthetic_model.h"

namespace tern::cli {

int gen_model_command(int argc, char** argv) {
    ArgParser args("gen-model", "--preset tiny|2b4t [options] -o FILE");
    args.option("preset", "", "tiny|2b4t", "tiny",
                "model shape: tiny (4 layers, hidden 256) or 2b4t (BitNet b1.58 2B4T)");
    args.option("type", "", "tq2_0|tq1_0|i2_s", "tq2_0", "ternary weight type");
    args.option("embedding", "", "f16|q8_0", "f16", "token embedding (and tied LM head) type");
    args.option("activation", "", "relu2|silu", "relu2",
                "feed-forward activation written into the file");
    args.option(
        "vocab", "", "DIR", "",
        "LLaMA-3 vocabulary (tokens.txt, merges.txt, special.txt; scripts/llama3_vocab.mjs)");
    args.option("seed", "s", "N", "1", "random seed (same seed, same file)");
    args.option("output", "o", "FILE", "", "where to write the model");
    if (!args.parse(argc, argv)) return 0;
    args.require("output");
    const ModelShape shape = model_preset(args.choice("preset", {"tiny", "2b4t"}));
    SyntheticModelOptions o;
    const std::string type = args.choice("type", {"tq2_0", "tq1_0", "i2_s"});
    o.weight_type = type == "tq2_0"   ? gguf::TensorType::tq2_0
                    : type == "tq1_0" ? gguf::TensorType::tq1_0
                                      : gguf::TensorType::i2_s;
    o.embedding_type = args.choice("embedding", {"f16", "q8_0"}) == "f16" ? gguf::TensorType::f16
                                                                          : gguf::TensorType::q8_0;
    o.activation = args.choice("activation", {"relu2", "silu"});
    o.vocab_dir = args.str("vocab");
    o.seed = static_cast<uint64_t>(args.integer("seed", 0, 1L << 31));
    const auto start = std::chrono::steady_clock::now();
    Progress bar("writing " + args.str("output"));
    uint64_t bytes = 0;
    write_synthetic_model(args.str("output"), shape, o, [&](uint64_t done, uint64_t total) {
        bar.update(static_cast<double>(done), static_cast<double>(total));
        bytes = total;
    });
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("wrote %s: %s, %s weights, %s embedding, %s, %.1f MiB in %.1f s\n",
                args.str("output").c_str(), shape.preset.c_str(), type.c_str(),
                args.str("embedding").c_str(),
                o.vocab_dir.empty() ? "placeholder vocabulary" : "LLaMA-3 vocabulary",
                bytes / 1048576.0, s);
    return 0;
}

}  // namespace tern::cli
