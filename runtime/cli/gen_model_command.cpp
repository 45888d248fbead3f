// tern gen-model: a random-weight ternary model with a real architecture, laid
// out as the tools that publish such files lay it out.
#include <chrono>
#include <cstdio>

#include "arg_parser.h"
#include "commands.h"
#include "progress.h"
#include "tern/architecture.h"
#include "tern/synthetic_model.h"

namespace tern::cli {

namespace {

// Types gen-model writes ternary weights in: ternary types with an encoder,
// float types that can hold ternary values.
bool can_hold_ternary(const gguf::TypeTraits& t) {
    return t.ternary ? t.encode_ternary != nullptr : t.read_ternary != nullptr;
}

}  // namespace

int gen_model_command(int argc, char** argv) {
    const std::vector<std::string> presets = {"tiny", "2b4t", "embedding-0.6b", "embedding-270m"};
    ArgParser args("gen-model",
                   "--preset tiny|2b4t|embedding-0.6b|embedding-270m [options] -o FILE");
    args.option("preset", "", "NAME", "tiny",
                "model shape: tiny (4 layers, hidden 256), 2b4t (BitNet b1.58 2B4T), "
                "embedding-0.6b (BitNet-embedding-0.6B, with --arch qwen3) or embedding-270m "
                "(BitNet-embedding-270M, with --arch gemma3)");
    std::string arch_names, arch_help = "layout:";
    for (const Architecture& a : architectures()) {
        const bool first = arch_names.empty();
        arch_names += (first ? "" : "|") + std::string(a.name);
        arch_help += (first ? " " : "; ") + std::string(a.name) + " (" + a.origin + ")";
    }
    args.option("arch", "", arch_names, "bitnet", arch_help);
    // Ternary types tern writes, then the float types that hold ternary values.
    std::vector<std::string> weight_flags;
    for (bool ternary : {true, false})
        for (const gguf::TypeTraits& t : gguf::tensor_types())
            if (t.ternary == ternary && can_hold_ternary(t)) weight_flags.push_back(t.flag);
    std::string weight_names;
    for (const std::string& f : weight_flags) weight_names += (weight_names.empty() ? "" : "|") + f;
    args.option("type", "", weight_names, "tq2_0",
                "ternary weight type (f32/f16/bf16: ternary values unquantised)");
    args.option("embedding", "", "TYPE", "f16",
                "token embedding type: f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k");
    args.option("head", "", "TYPE|tied", "",
                "LM head: an untied output.weight of TYPE, or tied to the embedding (default: "
                "the architecture's, f16 for bitnet-25 and llama)");
    args.option("activation", "", "relu2|silu|gelu", "",
                "feed-forward activation written into the file (default: none written, the "
                "architecture decides)");
    for (const char* size :
         {"n-embd", "n-layer", "n-head", "n-head-kv", "n-ff", "n-vocab", "head-dim", "swa"})
        args.option(size, "", "N", "", std::string("override the preset's ") + size);
    args.flag("no-input-norms", "",
              "leave out BitNet's per-projection input norms (qwen3, gemma3): the standard "
              "layout llama.cpp loads, for a dense F16 stand-in (--type f16); tern refuses it");
    args.option("pooling", "", "none|mean|cls|last", "",
                "embedding pooling written into the file (default: last for qwen3 and gemma3, "
                "none otherwise)");
    args.option(
        "vocab", "", "DIR", "",
        "LLaMA-3 vocabulary (tokens.txt, merges.txt, special.txt; scripts/llama3_vocab.mjs)");
    args.option("seed", "s", "N", "1", "random seed (same seed, same file)");
    args.option("output", "o", "FILE", "", "where to write the model");
    if (!args.parse(argc, argv)) return 0;
    args.require("output");
    ModelShape shape = model_preset(args.choice("preset", presets));
    int* sizes[] = {&shape.n_embd, &shape.n_layer, &shape.n_head,     &shape.n_head_kv,
                    &shape.n_ff,   &shape.n_vocab, &shape.n_head_dim, &shape.n_swa};
    const char* names[] = {"n-embd", "n-layer", "n-head",   "n-head-kv",
                           "n-ff",   "n-vocab", "head-dim", "swa"};
    for (int i = 0; i < 8; ++i)
        if (args.given(names[i])) *sizes[i] = static_cast<int>(args.integer(names[i], 1, 1 << 20));
    SyntheticModelOptions o;
    o.arch = args.choice("arch", architecture_names());
    const std::string type = args.choice("type", weight_flags);
    o.weight_type = gguf::parse_tensor_type(type, can_hold_ternary);
    o.embedding_type = gguf::parse_float_type(args.str("embedding"));
    if (args.str("head") == "tied")
        o.tied_head = true;
    else if (!args.str("head").empty())
        o.head_type = gguf::parse_float_type(args.str("head"));
    if (!args.str("activation").empty())
        o.activation = args.choice("activation", activation_names());
    if (!args.str("pooling").empty())
        o.pooling = parse_pooling(args.choice("pooling", {"none", "mean", "cls", "last"}));
    o.vocab_dir = args.str("vocab");
    o.input_norms = !args.on("no-input-norms");
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
    std::printf("wrote %s: %s %s, %s weights, %s embedding, %s, %.1f MiB in %.1f s\n",
                args.str("output").c_str(), o.arch.c_str(), shape.preset.c_str(), type.c_str(),
                args.str("embedding").c_str(),
                o.vocab_dir.empty() ? "placeholder vocabulary" : "LLaMA-3 vocabulary",
                bytes / 1048576.0, s);
    return 0;
}

}  // namespace tern::cli
