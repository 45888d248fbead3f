// tern bench: prompt processing and generation speed in the style of
// llama.cpp's llama-bench: each test from an empty cache, one warm-up, then
// repetitions reported as mean and standard deviation of tokens per second.
// Generation is also set against its bound: a plain read of the weights a token
// reads, probed before and after every repetition so that the machine's drift
// hits both sides of the ratio alike. Measuring (run_tests) is apart from the
// three output formats (markdown, CSV, JSON).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "commands.h"
#include "energy_meter.h"
#include "model_flags.h"
#include "tern/read_bandwidth.h"

namespace tern::cli {
namespace {

struct Row {
    int threads;
    std::string test;
    double mean, sd, median;
    std::vector<Model::Timing> per_token;  // seconds per token by part
    double joules_per_token;               // NaN without energy counters
    double read_gbs = NAN;                 // tg: plain read of the weights, median over repetitions
    double bound_share = NAN;              // tg: tokens/s over the bound that read sets, median
    int text_tokens = 0;                   // embed: tokens per text (embeddings/s = t/s over it)
};

// What every row of the report shares: the model and how it ran.
struct Setup {
    std::string model;  // "bitnet-25 30L/2560 I2_S"
    uint64_t size_bytes = 0, params = 0, bytes_per_token = 0, kv_cache_bytes = 0;
    std::string bundle, lm_head, cache_type, bits_per_weight;
    double load_seconds = 0;
};

double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t h = v.size() / 2;
    return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

double peak_rss_mib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;
}

Setup describe(const Model& model) {
    const ModelConfig& c = model.config();
    const gguf::File& f = model.file();
    Setup s;
    for (const auto& t : f.tensors()) s.params += t.elements();
    char name[128];
    std::snprintf(name, sizeof name, "%s %dL/%d %s", c.arch->name, c.n_layer, c.n_embd,
                  gguf::tensor_type_name(f.tensor(tensor_name(0, LayerTensor::attn_q)).type));
    s.model = name;
    s.size_bytes = f.size();
    s.bundle = model.backend().bundle().target();
    s.lm_head = c.embedding_model() ? "none" : lm_head_name(model.options().lm_head);
    s.cache_type = cache_type_name(model.options().cache_type);
    s.bytes_per_token = model.bytes_per_token();
    s.kv_cache_bytes = model.kv_cache_bytes();
    s.load_seconds = model.load_seconds();
    // Stored bits per ternary weight, padding included (2.00 or about 1.60).
    double ternary_bytes = 0, ternary_weights = 0;
    for (const Model::LinearChoice& l : model.linear_choices()) {
        ternary_bytes += static_cast<double>(l.bytes);
        ternary_weights += static_cast<double>(l.k) * l.n;
    }
    char bits[16];
    std::snprintf(bits, sizeof bits, "%.2f", 8 * ternary_bytes / ternary_weights);
    s.bits_per_weight = bits;
    return s;
}

// Every test at every thread count: one warm-up, then `reps` repetitions from
// an empty cache.
// An embedding model's tests are "embed N": `batch` texts of N tokens embedded
// together (Model::embed), as tern embed and tern serve run them; speed in
// tokens/s, and embeddings/s.
std::vector<Row> run_tests(Model& model, const std::vector<long>& threads,
                           const std::vector<int>& n_prompts, int n_gen, int reps, int batch,
                           const EnergyMeter& energy) {
    std::mt19937 rng(1);
    const int n_prompt =
        n_prompts.empty() ? 0 : *std::max_element(n_prompts.begin(), n_prompts.end());
    std::vector<int> prompt(n_prompt);
    for (int& t : prompt) t = static_cast<int>(rng() % model.config().n_vocab);
    std::vector<Row> rows;
    const std::vector<Region> weights = model.weight_regions();
    uint64_t sink = 0;
    for (long t : threads) {
        model.set_threads(static_cast<int>(t));
        auto probe = [&] {
            const Backend::Scope on_model(model.backend());  // its threads, not the default pool's
            return read_bandwidth_gbs(weights, static_cast<int>(t), &sink);
        };
        auto measure = [&](const std::string& name, int n, bool bound, auto&& run) {
            std::vector<double> tps, read_gbs, share;
            double joules_sum = 0;
            double probe_before = 0;
            for (int r = 0; r <= reps; ++r) {  // r == 0 warms up
                model.reset();
                if (r == 1) {
                    if (bound) probe_before = probe();
                    model.clear_timings();
                }
                // Energy and time per repetition, so the probes count in neither.
                const std::vector<uint64_t> joules_start =
                    energy.available() ? energy.read() : std::vector<uint64_t>{};
                const auto start = std::chrono::steady_clock::now();
                run();
                const double s =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                if (r == 0) continue;
                tps.push_back(n / s);
                if (energy.available()) joules_sum += energy.joules_since(joules_start);
                if (bound) {
                    const double probe_after = probe();
                    const double gbs = 0.5 * (probe_before + probe_after);
                    read_gbs.push_back(gbs);
                    share.push_back(tps.back() * model.bytes_per_token() / (gbs * 1e9));
                    probe_before = probe_after;
                }
            }
            double mean = 0, var = 0;
            for (double v : tps) mean += v / tps.size();
            for (double v : tps)
                var += (v - mean) * (v - mean) / std::max<size_t>(1, tps.size() - 1);
            const double joules = energy.available() ? joules_sum / (double(n) * reps) : NAN;
            std::vector<Model::Timing> per_token = model.timings();
            for (Model::Timing& p : per_token) p.seconds /= static_cast<double>(n) * reps;
            Row row{static_cast<int>(t), name,      mean,  std::sqrt(var),
                    median_of(tps),      per_token, joules};
            if (bound) {
                row.read_gbs = median_of(read_gbs);
                row.bound_share = median_of(share);
            }
            rows.push_back(row);
        };
        const bool embedding = model.config().embedding_model();
        for (int n : n_prompts) {
            const std::vector<int> part(prompt.begin(), prompt.begin() + n);
            if (embedding) {
                std::vector<std::vector<int>> texts(batch, part);
                for (int b = 0; b < batch; ++b)
                    texts[b][0] = (part[0] + b) % model.config().n_vocab;
                measure(
                    "embed" + std::to_string(n) + (batch > 1 ? " x" + std::to_string(batch) : ""),
                    n * batch, false, [&] { model.embed(texts, {}); });
                rows.back().text_tokens = n;
            } else {
                measure("pp" + std::to_string(n), n, false, [&] { model.eval(part); });
            }
        }
        if (n_gen > 0 && !embedding)
            measure("tg" + std::to_string(n_gen), n_gen, true, [&] {
                int next = prompt.empty() ? 1 : prompt[0];
                for (int i = 0; i < n_gen; ++i) {
                    const auto logits = model.eval({next});
                    next = static_cast<int>(std::max_element(logits.begin(), logits.end()) -
                                            logits.begin());
                }
            });
    }
    return rows;
}

void print_markdown(const Setup& s, const std::vector<Row>& rows, const EnergyMeter& energy,
                    bool profile) {
    const bool joules = energy.available();
    std::printf(
        "| model | size | params | bundle | bits/weight | lm head | threads | test | t/s |%s\n",
        joules ? " J/token |" : "");
    std::printf("| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: |%s\n",
                joules ? " ---: |" : "");
    for (const Row& r : rows) {
        std::printf("| %s | %.2f MiB | %.2f M | %s | %s | %s | %d | %s | %.2f ± %.2f |",
                    s.model.c_str(), s.size_bytes / 1048576.0, s.params / 1e6, s.bundle.c_str(),
                    s.bits_per_weight.c_str(), s.lm_head.c_str(), r.threads, r.test.c_str(), r.mean,
                    r.sd);
        if (joules) std::printf(" %.3f |", r.joules_per_token);
        std::printf("\n");
    }
    std::printf(
        "\npeak resident memory %.1f MiB (file %.1f MiB, load %.2f s; KV cache %s, %.1f MiB)\n",
        peak_rss_mib(), s.size_bytes / 1048576.0, s.load_seconds, s.cache_type.c_str(),
        s.kv_cache_bytes / 1048576.0);
    if (!joules) std::printf("energy per token: not measured (%s)\n", energy.why().c_str());
    for (const Row& r : rows)
        if (r.text_tokens > 0)
            std::printf("%s, %d thread%s: %.2f embeddings/s (texts of %d tokens)\n", r.test.c_str(),
                        r.threads, r.threads == 1 ? "" : "s", r.median / r.text_tokens,
                        r.text_tokens);
    for (const Row& r : rows) {
        if (std::isnan(r.bound_share)) continue;
        const double bytes = static_cast<double>(s.bytes_per_token);
        std::printf(
            "%s, %d thread%s: %.0f MB of weights per token; a plain read of them ran at "
            "%.1f GB/s around the repetitions, a bound of %.1f tokens/s; generation "
            "reached %.0f%% of it (medians)\n",
            r.test.c_str(), r.threads, r.threads == 1 ? "" : "s", bytes / 1e6, r.read_gbs,
            r.read_gbs * 1e9 / bytes, 100 * r.bound_share);
    }
    if (!profile) return;
    for (const Row& r : rows) {
        double total = 0;
        for (const Model::Timing& p : r.per_token) total += p.seconds;
        std::printf("\n%s, %d thread%s: %.3f ms per token\n", r.test.c_str(), r.threads,
                    r.threads == 1 ? "" : "s", total * 1e3);
        std::printf("| part | ms/token | share |\n| --- | ---: | ---: |\n");
        for (const Model::Timing& p : r.per_token)
            std::printf("| %s | %.3f | %.1f%% |\n", p.name().c_str(), p.seconds * 1e3,
                        100 * p.seconds / total);
    }
}

// A CSV field: quoted, inner quotes doubled.
std::string csv_quoted(const std::string& v) {
    std::string out = "\"";
    for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

void print_csv(const Setup& s, const std::vector<Row>& rows) {
    std::printf(
        "model,size_bytes,params,bundle,bits_per_weight,lm_head,cache_type,threads,test,"
        "tps_mean,tps_sd,peak_rss_mib,joules_per_token,read_gbs,bound_share\n");
    for (const Row& r : rows) {
        std::printf("%s,%llu,%llu,%s,%s,%s,%s,%d,%s,%.3f,%.3f,%.1f,", csv_quoted(s.model).c_str(),
                    static_cast<unsigned long long>(s.size_bytes),
                    static_cast<unsigned long long>(s.params), s.bundle.c_str(),
                    s.bits_per_weight.c_str(), s.lm_head.c_str(), s.cache_type.c_str(), r.threads,
                    r.test.c_str(), r.mean, r.sd, peak_rss_mib());
        if (!std::isnan(r.joules_per_token)) std::printf("%.4f", r.joules_per_token);
        std::printf(",");
        if (!std::isnan(r.read_gbs))
            std::printf("%.2f,%.4f", r.read_gbs, r.bound_share);
        else
            std::printf(",");
        std::printf("\n");
    }
}

// A number rounded to `digits` decimals, or null for NaN (not measured).
nlohmann::ordered_json number(double v, int digits) {
    if (std::isnan(v)) return nullptr;
    const double scale = std::pow(10.0, digits);
    return std::round(v * scale) / scale;
}

void print_json(const Setup& s, const std::vector<Row>& rows) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const Row& r : rows) {
        nlohmann::ordered_json parts = nlohmann::ordered_json::object();
        for (const Model::Timing& p : r.per_token) parts[p.name()] = number(p.seconds * 1e3, 4);
        out.push_back({{"model", s.model},
                       {"size_bytes", s.size_bytes},
                       {"params", s.params},
                       {"bundle", s.bundle},
                       {"bits_per_weight", std::stod(s.bits_per_weight)},
                       {"lm_head", s.lm_head},
                       {"cache_type", s.cache_type},
                       {"threads", r.threads},
                       {"test", r.test},
                       {"tps_mean", number(r.mean, 3)},
                       {"tps_sd", number(r.sd, 3)},
                       {"tps_median", number(r.median, 3)},
                       {"embeddings_per_s",
                        r.text_tokens > 0 ? number(r.median / r.text_tokens, 3) : nullptr},
                       {"bytes_per_token", s.bytes_per_token},
                       {"peak_rss_mib", number(peak_rss_mib(), 1)},
                       {"joules_per_token", number(r.joules_per_token, 4)},
                       {"read_gbs", number(r.read_gbs, 3)},
                       {"bound_share", number(r.bound_share, 4)},
                       {"ms_per_token", parts}});
    }
    std::printf("%s\n", out.dump(2).c_str());
}

}  // namespace

int bench_command(int argc, char** argv) {
    ArgParser args("bench", "-m FILE [-p 512] [-n 128] [-t 1,2] [-r 3] [-o md|json|csv]");
    add_model_flags(args, "", "", "KV cache length in tokens (default: the longest test's)");
    args.option("n-prompt", "p", "N[,N...]", "512",
                "prompt tokens, one pp test each (0 skips it; small N: a serving step's batch)");
    args.option("n-gen", "n", "N", "128", "generated tokens (tg test; 0 skips it)");
    args.option("repetitions", "r", "N", "3", "repetitions of each test");
    args.option("output", "o", "md|json|csv", "md", "output format");
    args.flag("profile", "", "also print where the time per token goes (md output)");
    args.option("batch", "b", "N", "1",
                "embedding models: texts of -p tokens embedded together per test");
    if (!args.parse(argc, argv)) return 0;
    const int batch = static_cast<int>(args.integer("batch", 1, 4096));
    std::vector<int> n_prompts;
    for (long n : args.integers("n-prompt", 0, 1 << 16))
        if (n > 0) n_prompts.push_back(static_cast<int>(n));
    const int n_prompt =
        n_prompts.empty() ? 0 : *std::max_element(n_prompts.begin(), n_prompts.end());
    const int n_gen = static_cast<int>(args.integer("n-gen", 0, 1 << 16));
    const int reps = static_cast<int>(args.integer("repetitions", 1, 1000));
    const std::string format = args.choice("output", {"md", "json", "csv"});
    std::vector<long> threads = {
        static_cast<long>(std::max(1u, std::thread::hardware_concurrency()))};
    if (!args.str("threads").empty()) threads = args.integers("threads", 1, 1024);
    ModelOptions options =
        model_options(args, static_cast<int>(*std::max_element(threads.begin(), threads.end())));
    // As llama-bench: the KV cache holds what the tests use (each starts from an
    // empty cache), unless -c asks for more.
    const int needed = std::max(1, std::max(n_prompt, n_gen));
    options.n_ctx = args.given("ctx-size") ? std::max(options.n_ctx, needed) : needed;
    options.n_seq = batch;
    if (!args.given("ubatch-size"))
        options.ubatch = std::max(options.ubatch, std::min(n_prompt * batch, 512));
    auto model = load_model(args, options, format == "md");

    const EnergyMeter energy;
    const std::vector<Row> rows = run_tests(*model, threads, n_prompts, n_gen, reps, batch, energy);
    const Setup setup = describe(*model);
    if (format == "md")
        print_markdown(setup, rows, energy, args.on("profile"));
    else if (format == "csv")
        print_csv(setup, rows);
    else
        print_json(setup, rows);
    return 0;
}

}  // namespace tern::cli
