// tern perplexity: a text's perplexity as llama.cpp's llama-perplexity computes
// it, and the KL divergence of a run's token distributions from a saved base run
// (llama-perplexity --kl-divergence-base / --kl-divergence).
//
// The text is tokenised whole (BOS first when the file says so) and cut into
// chunks of -c tokens; each chunk is evaluated from an empty cache with its first
// token replaced by BOS, and scored on its second half: the logits of positions
// c/2 .. c-2 against the tokens that follow them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "model_flags.h"
#include "tern/error.h"
#include "tern/tokenizer.h"

namespace tern::cli {
namespace {

// A base run's file: magic, then u32 n_vocab, n_ctx, n_chunk, the chunks' tokens
// (u32 each), then per scored position the log-probabilities as u16 steps of
// (-min / 65535) above a float min (clamped at kMinLogProb), as llama.cpp stores
// them, in a layout of tern's own.
const char kMagic[8] = {'t', 'e', 'r', 'n', 'k', 'l', 'd', '1'};
constexpr float kMinLogProb = -24.0f;

void log_softmax(const float* logits, int n, std::vector<double>& out) {
    out.resize(n);
    const float mx = *std::max_element(logits, logits + n);
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += std::exp(double(logits[i]) - mx);
    const double log_sum = std::log(sum) + mx;
    for (int i = 0; i < n; ++i) out[i] = logits[i] - log_sum;
}

// Running sums of a quantity over scored tokens: mean and standard error.
struct Stat {
    double sum = 0, sum2 = 0;
    uint64_t n = 0;
    void add(double v) {
        sum += v;
        sum2 += v * v;
        ++n;
    }
    double mean() const { return n ? sum / n : 0; }
    double stderr_of_mean() const {
        if (n < 2) return 0;
        const double m = mean(), var = sum2 / n - m * m;
        return var > 0 ? std::sqrt(var / (n - 1)) : 0;
    }
};

template <typename T>
void put(std::ofstream& out, T v) {
    out.write(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
T get(std::ifstream& in, const std::string& path) {
    T v{};
    if (!in.read(reinterpret_cast<char*>(&v), sizeof v))
        throw Error(path +
                    ": truncated (not a complete tern perplexity --kl-divergence-base file)");
    return v;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open the text to score");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
    std::nth_element(v.begin(), v.begin() + i, v.end());
    return v[i];
}

}  // namespace

int perplexity_command(int argc, char** argv) {
    ArgParser args("perplexity", "-m FILE -f TEXT [options]");
    add_model_flags(args, "0", "512", "tokens per chunk (each scored on its second half)");
    args.option("file", "f", "TEXT", "", "the text to score (plain UTF-8)");
    args.option("batch-size", "b", "N", "0",
                "tokens per evaluation call (0: the whole chunk; --ubatch-size still bounds "
                "the rows run at once)");
    args.option("chunks", "", "N", "0", "score at most N chunks (0: all the text holds)");
    args.option("kl-divergence-base", "", "FILE", "",
                "save this run's tokens and log-probabilities to FILE, as the base of a later "
                "--kl-divergence run");
    args.flag("kl-divergence", "",
              "compare with the base saved by --kl-divergence-base (its tokens: -f not needed): "
              "mean KL divergence, top-1 agreement, perplexity ratio");
    if (!args.parse(argc, argv)) return 0;
    const bool compare = args.on("kl-divergence");
    const std::string base_path = args.str("kl-divergence-base");
    if (compare && base_path.empty())
        throw Error(
            "tern perplexity: --kl-divergence needs --kl-divergence-base FILE (the base run)");
    if (!compare && !args.given("file")) throw Error("tern perplexity: give the text with -f FILE");

    ModelOptions options = model_options(args, static_cast<int>(args.integer("threads", 0, 1024)));
    const int n_ctx = options.n_ctx;
    if (n_ctx < 4) throw Error("tern perplexity: -c " + std::to_string(n_ctx) + " is too short");
    auto model = load_model(args, options, false);
    const Tokenizer tok = Tokenizer::from_gguf(model->file());
    const int V = model->config().n_vocab;
    if (n_ctx > model->config().n_ctx_train)
        std::fprintf(stderr, "warning: -c %d exceeds the model's trained context (%d)\n", n_ctx,
                     model->config().n_ctx_train);

    // Tokens: the text's, or the base run's.
    std::vector<int> tokens;
    std::ifstream base_in;
    std::ofstream base_out;
    int n_chunk = 0;
    if (compare) {
        base_in.open(base_path, std::ios::binary);
        if (!base_in) throw Error(base_path + ": cannot open the base run");
        char magic[8];
        if (!base_in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
            throw Error(base_path + ": not a tern perplexity --kl-divergence-base file");
        const uint32_t bv = get<uint32_t>(base_in, base_path),
                       bc = get<uint32_t>(base_in, base_path);
        n_chunk = static_cast<int>(get<uint32_t>(base_in, base_path));
        if (int(bv) != V)
            throw Error(base_path + ": the base run's vocabulary has " + std::to_string(bv) +
                        " tokens, this model's " + std::to_string(V));
        if (int(bc) != n_ctx)
            throw Error(base_path + ": the base run used -c " + std::to_string(bc) +
                        "; give the same -c");
        tokens.resize(uint64_t(n_chunk) * n_ctx);
        for (int& t : tokens) t = static_cast<int>(get<uint32_t>(base_in, base_path));
    } else {
        const auto t0 = std::chrono::steady_clock::now();
        tokens = tok.encode(read_text(args.str("file")), tok.add_bos());
        std::fprintf(stderr, "tokenised %s: %zu tokens in %.2f s\n", args.str("file").c_str(),
                     tokens.size(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        n_chunk = static_cast<int>(tokens.size() / n_ctx);
        if (n_chunk == 0)
            throw Error("tern perplexity: " + args.str("file") + " holds " +
                        std::to_string(tokens.size()) + " tokens, fewer than one chunk of -c " +
                        std::to_string(n_ctx));
    }
    if (args.integer("chunks", 0, 1 << 30) > 0)
        n_chunk = std::min(n_chunk, static_cast<int>(args.integer("chunks", 0, 1 << 30)));
    if (!base_path.empty() && !compare) {
        base_out.open(base_path + ".tmp", std::ios::binary);
        if (!base_out) throw Error(base_path + ".tmp: cannot write");
        base_out.write(kMagic, 8);
        put<uint32_t>(base_out, V);
        put<uint32_t>(base_out, n_ctx);
        put<uint32_t>(base_out, n_chunk);
        for (int i = 0; i < n_chunk * n_ctx; ++i) put<uint32_t>(base_out, tokens[i]);
    }

    const int first = n_ctx / 2;
    const int batch = args.integer("batch-size", 0, 1 << 20) > 0
                          ? static_cast<int>(args.integer("batch-size", 0, 1 << 20))
                          : n_ctx;
    std::printf(
        "perplexity: %d chunks of %d tokens, %d scored per chunk, %s head, %s cache, %d "
        "threads\n",
        n_chunk, n_ctx, n_ctx - 1 - first, lm_head_name(model->options().lm_head),
        cache_type_name(model->options().cache_type), model->backend().threads());
    Stat nll, kld, base_nll, same_top;
    std::vector<double> klds, lp, base_lp(V);
    std::vector<uint16_t> q(V);
    double eval_seconds = 0;
    for (int c = 0; c < n_chunk; ++c) {
        std::vector<int> chunk(tokens.begin() + uint64_t(c) * n_ctx,
                               tokens.begin() + uint64_t(c + 1) * n_ctx);
        if (tok.add_bos()) chunk[0] = tok.bos();
        model->reset(0);
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<float> logits;
        logits.reserve(uint64_t(n_ctx) * V);
        for (int s = 0; s < n_ctx; s += batch) {
            const std::vector<int> part(chunk.begin() + s,
                                        chunk.begin() + std::min(n_ctx, s + batch));
            const std::vector<float> l = model->eval(part, true);
            logits.insert(logits.end(), l.begin(), l.end());
        }
        eval_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (int j = first; j < n_ctx - 1; ++j) {
            log_softmax(&logits[uint64_t(j) * V], V, lp);
            const int next = chunk[j + 1];
            nll.add(-lp[next]);
            if (base_out.is_open()) {
                const double lo =
                    std::max<double>(kMinLogProb, *std::min_element(lp.begin(), lp.end()));
                const float min = static_cast<float>(lo), step = -min / 65535.0f;
                put<float>(base_out, min);
                for (int i = 0; i < V; ++i)
                    q[i] = static_cast<uint16_t>(
                        std::lround(std::clamp((lp[i] - min) / step, 0.0, 65535.0)));
                base_out.write(reinterpret_cast<const char*>(q.data()), 2 * V);
            }
            if (compare) {
                const float min = get<float>(base_in, base_path), step = -min / 65535.0f;
                if (!base_in.read(reinterpret_cast<char*>(q.data()), 2 * V))
                    throw Error(base_path + ": truncated");
                double norm = 0;
                for (int i = 0; i < V; ++i) {
                    base_lp[i] = min + q[i] * double(step);
                    norm += std::exp(base_lp[i]);
                }
                const double log_norm = std::log(norm);  // undo the rounding's drift
                double kl = 0;
                for (int i = 0; i < V; ++i) {
                    base_lp[i] -= log_norm;
                    kl += std::exp(base_lp[i]) * (base_lp[i] - lp[i]);
                }
                kld.add(kl);
                klds.push_back(kl);
                base_nll.add(-base_lp[next]);
                const int a = static_cast<int>(std::max_element(lp.begin(), lp.end()) - lp.begin());
                const int b = static_cast<int>(std::max_element(base_lp.begin(), base_lp.end()) -
                                               base_lp.begin());
                same_top.add(a == b ? 1.0 : 0.0);
            }
        }
        std::printf("[%d]%.4f,", c + 1, std::exp(nll.mean()));
        if ((c + 1) % 10 == 0 || c + 1 == n_chunk) std::printf("\n");
        std::fflush(stdout);
    }
    const double ppl = std::exp(nll.mean());
    std::printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, nll.stderr_of_mean() * ppl);
    std::printf("%llu tokens scored, %d evaluated in %.2f s: %.1f tokens/s\n",
                static_cast<unsigned long long>(nll.n), n_chunk * n_ctx, eval_seconds,
                n_chunk * n_ctx / std::max(eval_seconds, 1e-9));
    if (base_out.is_open()) {
        base_out.close();
        if (!base_out || std::rename((base_path + ".tmp").c_str(), base_path.c_str()) != 0)
            throw Error(base_path + ": cannot write");
        std::printf("saved the base run to %s\n", base_path.c_str());
    }
    if (compare) {
        const double base_ppl = std::exp(base_nll.mean());
        // The ratio's error from the per-token differences of log-probabilities.
        std::printf("\n====== Perplexity statistics ======\n");
        std::printf("Mean PPL(Q)          : %10.4f +/- %.5f\n", ppl, nll.stderr_of_mean() * ppl);
        std::printf("Mean PPL(base)       : %10.4f +/- %.5f\n", base_ppl,
                    base_nll.stderr_of_mean() * base_ppl);
        std::printf("Mean PPL(Q)/PPL(base): %10.6f\n", ppl / base_ppl);
        std::printf("\n====== KL divergence statistics ======\n");
        std::printf("Mean    KLD: %10.6g +/- %.2g\n", kld.mean(), kld.stderr_of_mean());
        std::printf("Maximum KLD: %10.6f\n", *std::max_element(klds.begin(), klds.end()));
        std::printf("99.0%%   KLD: %10.6f\n", percentile(klds, 0.99));
        std::printf("Median  KLD: %10.6f\n", percentile(klds, 0.5));
        std::printf("\n====== Token probability statistics ======\n");
        std::printf("Same top p: %7.3f +/- %.3f %%\n", 100 * same_top.mean(),
                    100 * same_top.stderr_of_mean());
    }
    return 0;
}

}  // namespace tern::cli
