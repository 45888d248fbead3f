// tern convert: a Hugging Face checkpoint directory to a GGUF file, in C++.
#include <chrono>
#include <cstdio>

#include "arg_parser.h"
#include "commands.h"
#include "convert/hf_convert.h"
#include "progress.h"
#include "tern/error.h"

namespace tern::cli {

int convert_command(int argc, char** argv) {
    ArgParser args("convert", "HF_DIR -o FILE.gguf [options]");
    args.option("type", "", "i2_s|tq2_0|tq1_0", "i2_s",
                "ternary weight type (i2_s: bitnet.cpp's, 2 bits; tq2_0 / tq1_0: llama.cpp's, "
                "2 and 1.6 bits)");
    args.option("embedding", "", "TYPE", "f16",
                "token embedding type: f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k");
    args.option("head", "", "TYPE", "f16", "LM head (output.weight) type, as --embedding");
    args.option("name", "", "TEXT", "", "general.name (default: the directory's name)");
    args.option("output", "o", "FILE", "", "the GGUF file to write (atomically)");
    // The directory is the one argument that is not a flag.
    std::string dir;
    std::vector<char*> rest;
    for (int i = 0; i < argc; ++i) {
        const bool takes_value =
            i > 0 && argv[i - 1][0] == '-' && std::string(argv[i - 1]) != "--help";
        if (argv[i][0] != '-' && !takes_value && dir.empty())
            dir = argv[i];
        else
            rest.push_back(argv[i]);
    }
    if (!args.parse(static_cast<int>(rest.size()), rest.data())) return 0;
    if (dir.empty()) throw Error("tern convert: give the Hugging Face model directory (HF_DIR)");
    args.require("output");
    convert::ConvertOptions o;
    const std::string type = args.str("type");
    o.weight_type = gguf::parse_tensor_type(
        type, [](const gguf::TypeTraits& t) { return t.ternary && t.encode_ternary != nullptr; });
    o.embedding_type = gguf::parse_float_type(args.str("embedding"));
    o.head_type = gguf::parse_float_type(args.str("head"));
    o.name = args.str("name");
    const auto start = std::chrono::steady_clock::now();
    Progress bar("converting " + dir);
    const convert::ConvertSummary s =
        convert::convert_checkpoint(dir, args.str("output"), o, [&](uint64_t done, uint64_t total) {
            bar.update(static_cast<double>(done), static_cast<double>(total));
        });
    const double sec =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "wrote %s: %s from %s (%s), %d layers, hidden %d, vocabulary %d, %.1f M ternary "
        "weights as %s, %s embedding, %s head, %.1f MiB in %.1f s\n",
        args.str("output").c_str(), s.arch.c_str(), s.source_class.c_str(), s.weights.c_str(),
        s.n_layer, s.n_embd, s.n_vocab, s.ternary_weights / 1e6, type.c_str(),
        args.str("embedding").c_str(), args.str("head").c_str(), s.bytes / 1048576.0, sec);
    return 0;
}

}  // namespace tern::cli
