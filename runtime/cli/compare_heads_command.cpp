// tern compare-heads: how far the quantised LM heads (int8, int4) move the
// logits from the head at the file's precision, over every position of a text:
// the Pearson correlation of each position's logits and whether the top token
// agrees. The ternary layers are the same in every load, so the differences are
// the head's alone.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "model_flags.h"
#include "tern/error.h"
#include "tern/tokenizer.h"

namespace tern::cli {
namespace {

// The bytes a token reads in the LM head: all it reads but the ternary layers.
uint64_t head_bytes_per_token(const Model& model) {
    uint64_t ternary = 0;
    for (const Model::LinearChoice& l : model.linear_choices())
        ternary += static_cast<uint64_t>(l.bytes) * model.config().n_layer;
    return model.bytes_per_token() - ternary;
}

double correlation(const float* a, const float* b, size_t n) {
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
    ma /= n;
    mb /= n;
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; ++i) {
        ab += (a[i] - ma) * (b[i] - mb);
        aa += (a[i] - ma) * (a[i] - ma);
        bb += (b[i] - mb) * (b[i] - mb);
    }
    return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

}  // namespace

int compare_heads_command(int argc, char** argv) {
    ArgParser args("compare-heads", "-m FILE --text FILE [options]");
    add_model_flags(args, "0");
    args.option("text", "", "FILE", "", "text whose every position is compared");
    args.option("heads", "", "LIST", "int8,int4", "heads compared with the file's");
    args.option("max-tokens", "n", "N", "512", "at most this many tokens of the text");
    if (!args.parse(argc, argv)) return 0;
    args.require("model");
    args.require("text");
    std::ifstream in(args.str("text"), std::ios::binary);
    if (!in) throw Error("tern compare-heads: cannot read --text " + args.str("text"));
    std::stringstream text;
    text << in.rdbuf();

    ModelOptions options = model_options(args, static_cast<int>(args.integer("threads", 0, 1024)));
    options.lm_head = LmHead::file;
    auto reference = load_model(args, options, true);
    std::vector<int> tokens = Tokenizer::from_gguf(reference->file()).encode(text.str(), true);
    const size_t max_tokens = static_cast<size_t>(args.integer("max-tokens", 2, 1 << 20));
    if (tokens.size() > max_tokens) tokens.resize(max_tokens);
    if (tokens.size() < 2) throw Error("tern compare-heads: the text has fewer than two tokens");
    if (static_cast<int>(tokens.size()) > options.n_ctx)
        throw Error("tern compare-heads: " + std::to_string(tokens.size()) +
                    " tokens exceed the context (-c " + std::to_string(options.n_ctx) + ")");
    const std::vector<float> want = reference->eval(tokens, true);
    const size_t V = want.size() / tokens.size();
    const double file_mib = static_cast<double>(head_bytes_per_token(*reference)) / 1048576.0;
    reference.reset();

    std::printf(
        "%zu tokens of %s, each position's %zu logits against the file's head "
        "(%.1f MiB per token)\n\n",
        tokens.size(), args.str("text").c_str(), V, file_mib);
    std::printf("| head | MiB per token | correlation: mean | min | top-1 agreement |\n");
    std::printf("| --- | ---: | ---: | ---: | ---: |\n");
    std::string list = args.str("heads");
    std::replace(list.begin(), list.end(), ',', ' ');
    std::istringstream heads(list);
    for (std::string name; heads >> name;) {
        options.lm_head = parse_lm_head(name);
        auto model = load_model(args, options, false);
        const std::vector<float> got = model->eval(tokens, true);
        const uint64_t head_bytes = head_bytes_per_token(*model);
        double sum = 0, worst = 1;
        size_t same = 0;
        for (size_t t = 0; t < tokens.size(); ++t) {
            const float* a = &got[t * V];
            const float* b = &want[t * V];
            const double c = correlation(a, b, V);
            sum += c;
            worst = std::min(worst, c);
            same += std::max_element(a, a + V) - a == std::max_element(b, b + V) - b;
        }
        std::printf("| %s | %.1f | %.6f | %.6f | %.2f%% (%zu of %zu) |\n", name.c_str(),
                    head_bytes / 1048576.0, sum / tokens.size(), worst,
                    100.0 * same / tokens.size(), same, tokens.size());
    }
    return 0;
}

}  // namespace tern::cli
