// tern: run and benchmark BitNet b1.58 models on tern's kernel bundles.
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"
#include "tern/error.h"

namespace {

void usage() {
    std::printf(
        "usage: tern <command> [options]   (tern <command> --help for its options)\n\n"
        "commands:\n"
        "  run        generate text from a prompt\n"
        "  chat       a conversation with an instruct model (its chat template)\n"
        "  serve      an OpenAI-compatible HTTP server, many conversations at once\n"
        "  bench      prompt processing and generation speed (llama-bench style table)\n"
        "  info       CPU, kernel bundles, and the kernels chosen for a model's weights\n"
        "  gen-model  write a random-weight BitNet model (tiny, 2b4t, embedding shapes)\n"
        "  convert    a Hugging Face checkpoint (BitNet b1.58, ternary Llama) to GGUF\n"
        "  perplexity a text's perplexity (llama-perplexity's method), KL divergence from a "
        "base run\n"
        "  embed      embeddings of texts from an embedding model (JSON or TSV)\n"
        "  eval       logits after a sequence of token ids, as JSON (for comparisons)\n"
        "  tokenize   a model file's tokenizer on text: ids and pieces\n"
        "  compare-heads  quantised LM heads against the file's over a text (correlation, "
        "top-1)\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        usage();
        return argc < 2 ? 1 : 0;
    }
    const std::string command = argv[1];
    try {
        if (command == "run") return tern::cli::run_command(argc - 2, argv + 2);
        if (command == "chat") return tern::cli::chat_command(argc - 2, argv + 2);
        if (command == "serve") return tern::cli::serve_command(argc - 2, argv + 2);
        if (command == "bench") return tern::cli::bench_command(argc - 2, argv + 2);
        if (command == "info") return tern::cli::info_command(argc - 2, argv + 2);
        if (command == "gen-model") return tern::cli::gen_model_command(argc - 2, argv + 2);
        if (command == "convert") {
#ifdef TERN_WITH_CONVERT
            return tern::cli::convert_command(argc - 2, argv + 2);
#else
            throw tern::Error("tern convert was left out of this build (it needs nlohmann-json)");
#endif
        }
        if (command == "perplexity") return tern::cli::perplexity_command(argc - 2, argv + 2);
        if (command == "eval") return tern::cli::eval_command(argc - 2, argv + 2);
        if (command == "embed") return tern::cli::embed_command(argc - 2, argv + 2);
        if (command == "tokenize") return tern::cli::tokenize_command(argc - 2, argv + 2);
        if (command == "compare-heads") return tern::cli::compare_heads_command(argc - 2, argv + 2);
        std::fprintf(stderr, "tern: unknown command '%s'\n", command.c_str());
        usage();
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
