// tern embed: the embeddings of texts from an embedding model (BitNet's Qwen3
// and Gemma3 embedding files), many texts evaluated together through the GEMM
// kernels, as JSON (OpenAI's embeddings response) or TSV.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "model_flags.h"
#include "tern/error.h"
#include "tern/tokenizer.h"

namespace tern::cli {

namespace {

// One text per line of a file, or of standard input ("-").
std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream file;
    if (path != "-") {
        file.open(path);
        if (!file) throw Error(path + ": cannot open");
    }
    std::istream& in = path == "-" ? std::cin : file;
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) lines.push_back(line);
    }
    if (lines.empty()) throw Error(path + ": no texts (one per line expected)");
    return lines;
}

// A float as JSON accepts it: shortest round-tripping form ("%.9g").
std::string number(float v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

}  // namespace

int embed_command(int argc, char** argv) {
    ArgParser args("embed", "-m FILE (-p TEXT | -f FILE) [options]");
    add_model_flags(args, "0", "512", "tokens per text at most (longer texts are errors)");
    args.option("prompt", "p", "TEXT", "", "one text to embed");
    args.option("file", "f", "FILE", "",
                "texts to embed, one per line (empty lines skipped; - for standard input)");
    args.option("batch", "b", "N", "16", "texts evaluated together");
    args.option("pooling", "", "mean|cls|last", "", "pooling (default: the file's)");
    args.flag("no-normalize", "", "leave the pooled vectors as they are (default: L2-normalised)");
    args.flag("normalize", "", "L2-normalise the vectors (the default)");
    args.flag("truncate", "", "cut texts longer than -c instead of refusing them");
    args.option("output-format", "o", "json|tsv", "json",
                "json: OpenAI's embeddings response; tsv: one line of values per text");
    if (!args.parse(argc, argv)) return 0;
    if (args.str("prompt").empty() == args.str("file").empty())
        throw Error("embed: give one of -p TEXT or -f FILE");
    if (args.on("normalize") && args.on("no-normalize"))
        throw Error("embed: --normalize and --no-normalize contradict each other");
    const std::string format = args.choice("output-format", {"json", "tsv"});
    const std::vector<std::string> texts = args.str("file").empty()
                                               ? std::vector<std::string>{args.str("prompt")}
                                               : read_lines(args.str("file"));
    const int batch = static_cast<int>(args.integer("batch", 1, 4096));
    ModelOptions options = model_options(args, static_cast<int>(args.integer("threads", 0, 1024)));
    options.n_seq = std::min<int>(batch, static_cast<int>(texts.size()));
    // Rows of every text of a batch go through the kernels together.
    if (!args.given("ubatch-size")) options.ubatch = 512;
    Model::EmbedOptions eo;
    eo.normalize = !args.on("no-normalize");
    if (!args.str("pooling").empty())
        eo.pooling = parse_pooling(args.choice("pooling", {"mean", "cls", "last"}));

    auto model = load_model(args, options, true);
    const ModelConfig& cfg = model->config();
    if (!cfg.embedding_model() && !eo.pooling)
        throw Error(args.str("model") + " is not an embedding model (no " +
                    cfg.key("pooling_type") + "); give --pooling to embed with it anyway");
    const Tokenizer tok = Tokenizer::from_gguf(model->file());
    const int n_ctx = model->context();
    std::vector<std::vector<int>> ids;
    size_t total_tokens = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
        std::vector<int> t = tok.encode(texts[i], tok.add_bos());
        if (tok.add_eos()) t.push_back(tok.eos());
        if (static_cast<int>(t.size()) > n_ctx) {
            if (!args.on("truncate"))
                throw Error("embed: text " + std::to_string(i + 1) + " has " +
                            std::to_string(t.size()) + " tokens, more than the context of " +
                            std::to_string(n_ctx) + " (use a larger -c, or --truncate)");
            const bool eos = tok.add_eos();
            t.resize(n_ctx);
            if (eos) t.back() = tok.eos();  // last-token pooling reads the EOS
        }
        total_tokens += t.size();
        ids.push_back(std::move(t));
    }

    const auto start = std::chrono::steady_clock::now();
    std::vector<std::vector<float>> vectors;
    Progress bar("embedding " + std::to_string(texts.size()) + " texts");
    for (size_t b = 0; b < ids.size(); b += batch) {
        const size_t end = std::min(ids.size(), b + batch);
        const std::vector<std::vector<int>> chunk(ids.begin() + b, ids.begin() + end);
        for (std::vector<float>& v : model->embed(chunk, eo)) vectors.push_back(std::move(v));
        if (ids.size() > static_cast<size_t>(batch)) bar.update(double(end), double(ids.size()));
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(
        stderr, "%zu texts, %zu tokens in %.2f s (%.1f texts/s, %.1f tokens/s) on %s, %d threads\n",
        texts.size(), total_tokens, seconds, texts.size() / seconds, total_tokens / seconds,
        model->backend().bundle().target().c_str(), model->backend().threads());

    if (format == "tsv") {
        for (const std::vector<float>& v : vectors) {
            std::string line;
            for (size_t i = 0; i < v.size(); ++i) line += (i ? "\t" : "") + number(v[i]);
            std::printf("%s\n", line.c_str());
        }
        return 0;
    }
    std::printf("{\"object\": \"list\", \"data\": [");
    for (size_t t = 0; t < vectors.size(); ++t) {
        std::printf("%s\n  {\"object\": \"embedding\", \"index\": %zu, \"embedding\": [",
                    t ? "," : "", t);
        for (size_t i = 0; i < vectors[t].size(); ++i)
            std::printf("%s%s", i ? ", " : "", number(vectors[t][i]).c_str());
        std::printf("]}");
    }
    std::printf(
        "\n], \"model\": \"%s\", \"usage\": {\"prompt_tokens\": %zu, \"total_tokens\": %zu}}\n",
        cfg.family.c_str(), total_tokens, total_tokens);
    return 0;
}

}  // namespace tern::cli
