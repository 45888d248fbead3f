// tern-tune: searches kernel schedules on this machine and writes the schedule
// database the build turns into kernels.
//
//   tern-tune --preset 2b4t | --model FILE [--in-model] --threads 1,2 --budget 10m
//             [--out schedules/host.yaml]
//
// run() is a pipeline of named steps: choose the target, open the database,
// plan the problems, search each, rerank the GEMVs in the model (and tune the
// LM head there), print the tables.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <sstream>

#include "Halide.h"
#include "arg_parser.h"
#include "in_model.h"
#include "jit_kernel.h"
#include "report.h"
#include "schedule_db.h"
#include "search.h"
#include "target_info.h"
#include "tern/error.h"
#include "tern/model.h"
#include "tern/synthetic_model.h"

namespace tern::tune {
namespace {

const char* kDescription =
    R"(Searches schedules for tern's kernels on this CPU: every legal knob combination
of every kernel family is a candidate; candidates are JIT-compiled, verified
exactly against the reference and timed (GEMV with weights streamed from memory).
The winners go to a schedule database that the build compiles into kernels:
  cmake -S . -B build -DTERN_SCHEDULES=<out>
Shapes come from --shapes, else --model, else --preset.)";

struct Options {
    std::vector<std::pair<int, int>> shapes;  // (k, n)
    std::string model;                        // --model
    bool in_model = false;
    int in_model_tokens = 16;
    std::vector<Op> ops{Op::gemv, Op::gemm};
    int m_rows = 128;
    std::vector<int> threads{1};
    double budget_s = 600;
    std::string target, targets_dir, out, report;
    bool resume = false, compare = false, exhaustive = false;
    std::vector<std::string> families;
    std::map<std::string, std::vector<int>> restrict;
    uint32_t seed = 1;
    size_t stream_mib = 1024;
};

Family parse_family(const std::string& name) {
    Family f;
    if (!find_family(name, &f)) throw Error("unknown kernel family '" + name + "'");
    return f;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string p; std::getline(in, p, sep);)
        if (!p.empty()) out.push_back(p);
    return out;
}

int parse_int(const std::string& flag, const std::string& v, int lo) {
    size_t used = 0;
    int x = 0;
    try {
        x = std::stoi(v, &used);
    } catch (...) {
        used = 0;
    }
    if (used != v.size() || x < lo)
        throw Error(flag + ": expected an integer >= " + std::to_string(lo) + ", got '" + v + "'");
    return x;
}

double parse_duration(const std::string& v) {
    size_t used = 0;
    double x = -1;
    try {
        x = std::stod(v, &used);
    } catch (...) {
    }
    const std::string unit = v.substr(used);
    const double scale = unit.empty() || unit == "s" ? 1
                         : unit == "m"               ? 60
                         : unit == "h"               ? 3600
                                                     : -1;
    if (x <= 0 || scale < 0)
        throw Error("--budget: expected a duration such as 90s, 10m or 1h, got '" + v + "'");
    return x * scale;
}

std::vector<std::pair<int, int>> preset_shapes(const std::string& name) {
    if (name == "small") return {{256, 128}, {512, 96}};  // quick, for tests
    if (name != "2b4t")
        throw Error("--preset: unknown preset '" + name + "' (expected 2b4t or small)");
    // The matrices the model runs, stacked as it stacks them (2560x3840 Q/K/V,
    // 2560x2560, 2560x13824 gate/up, 6912x2560).
    const ModelShape s = model_preset(name);
    return linear_shapes(find_architecture("bitnet-25", "--preset 2b4t"), s.widths());
}

// Each distinct shape once, in the model's order (per-projection stacks, as the
// embedding models have, repeat the K/V and gate/up shapes).
std::vector<std::pair<int, int>> model_shapes(const std::string& path) {
    const ModelConfig c = read_model_config(path);
    std::vector<std::pair<int, int>> out;
    for (const auto& shape : linear_shapes(*c.arch, ModelWidths(c)))
        if (std::find(out.begin(), out.end(), shape) == out.end()) out.push_back(shape);
    return out;
}

// The flags, on tern's shared ArgParser; nullopt after --help.
std::optional<Options> parse(int argc, char** argv) {
    cli::ArgParser args("tune",
                        "[--preset 2b4t | --model FILE [--in-model] | --shapes KxN,...] "
                        "[--threads 1,2] [--budget 10m] [--out FILE]",
                        "tern-tune");
    args.describe(kDescription);
    args.option("preset", "", "NAME", "2b4t",
                "shapes of a model: 2b4t (BitNet b1.58 2B4T) or small (tests)");
    args.option("model", "", "FILE", "", "shapes of a bitnet GGUF model file (its metadata only)");
    args.flag("in-model", "",
              "with --model: choose each GEMV among the search's finalists and the bundle's "
              "current kernel by their time inside real decode steps of the model, not in "
              "isolation; prints both figures side by side");
    args.option("in-model-tokens", "", "N", "16",
                "decode steps per candidate and round (5 rounds)");
    args.option("shapes", "", "KxN,...", "", "explicit shapes (K inputs, N outputs)");
    args.option("ops", "", "LIST", "gemv,gemm", "gemv, gemm or both");
    args.option("m", "", "ROWS", "128", "activation rows of the GEMM problems");
    args.option("threads", "", "LIST", "1", "thread counts to tune for");
    args.option("budget", "", "TIME", "10m", "total search time, e.g. 90s, 10m, 1h");
    args.option("target", "", "NAME", "", "a targets/<NAME>.yaml instead of the detected one");
    args.option("targets-dir", "", "DIR", TERN_SOURCE_DIR "/targets", "where the target files are");
    args.option("out", "", "FILE", "", "database to write (default schedules/<target>.tuned.yaml)");
    args.option("report", "", "FILE", "",
                "HTML report with a plot per kernel (default <out>.html)");
    args.flag("resume", "", "keep the finished kernels of an existing --out database");
    args.flag("compare", "",
              "also time, on each problem, the target's default schedule and Halide's "
              "autoschedulers (Adams2019, Li2018, Mullapudi2016) on the winner's algorithm and "
              "layout, and print the ratios");
    args.option("families", "", "LIST", "", "only these families (default: all the target has)");
    args.option("restrict", "", "K=V,V;..", "", "only these values of the named knobs");
    args.flag("exhaustive", "", "try every candidate of the space, whatever the budget");
    args.option("seed", "", "N", "1", "random seed of the search");
    args.option("stream-mib", "", "N", "1024", "weights streamed by GEMV timing, MiB");
    if (!args.parse(argc, argv)) return std::nullopt;

    Options o;
    o.model = args.str("model");
    o.in_model = args.on("in-model");
    if (o.in_model && o.model.empty())
        throw Error("--in-model times kernels inside a model: it needs --model FILE");
    if (args.given("shapes")) {
        for (const auto& s : split(args.str("shapes"), ',')) {
            const auto kn = split(s, 'x');
            if (kn.size() != 2) throw Error("--shapes: expected KxN, got '" + s + "'");
            o.shapes.emplace_back(parse_int("--shapes", kn[0], 1), parse_int("--shapes", kn[1], 1));
        }
    } else {
        o.shapes = o.model.empty() ? preset_shapes(args.str("preset")) : model_shapes(o.model);
    }
    o.in_model_tokens = static_cast<int>(args.integer("in-model-tokens", 1, 1 << 20));
    o.ops.clear();
    for (const auto& s : split(args.str("ops"), ',')) {
        if (s != "gemv" && s != "gemm")
            throw Error("--ops: expected gemv or gemm, got '" + s + "'");
        o.ops.push_back(s == "gemv" ? Op::gemv : Op::gemm);
    }
    o.m_rows = static_cast<int>(args.integer("m", 2, 1 << 16));
    o.threads.clear();
    for (long t : args.integers("threads", 1, 1024)) o.threads.push_back(static_cast<int>(t));
    o.budget_s = parse_duration(args.str("budget"));
    o.target = args.str("target");
    o.targets_dir = args.str("targets-dir");
    o.out = args.str("out");
    o.report = args.str("report");
    o.resume = args.on("resume");
    o.compare = args.on("compare");
    o.exhaustive = args.on("exhaustive");
    o.families = split(args.str("families"), ',');
    for (const auto& f : o.families)
        if (Family fam; !find_family(f, &fam) || !is_ternary_family(fam))
            throw Error("--families: unknown family '" + f + "' (expected tmad, tlut, tadd)");
    for (const auto& item : split(args.str("restrict"), ';')) {
        const auto kv = split(item, '=');
        if (kv.size() != 2) throw Error("--restrict: expected knob=v1,v2, got '" + item + "'");
        for (const auto& v : split(kv[1], ','))
            o.restrict[kv[0]].push_back(parse_int("--restrict", v, 0));
    }
    o.seed = static_cast<uint32_t>(args.integer("seed", 0, 1L << 31));
    o.stream_mib = static_cast<size_t>(args.integer("stream-mib", 1, 1 << 20));
    if (o.ops.empty() || o.threads.empty())
        throw Error("--ops and --threads need at least one value");
    return o;
}

std::string today() {
    char buf[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&now));
    return buf;
}

std::string clock_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
    return buf;
}

// Times `knobs` of `family` on the workload, scheduled by the generator itself
// or by an autoscheduler; returns the median in us, or a negative value with
// `why` set when it failed to compile or verify.
double time_variant(const std::string& family, const std::map<std::string, int>& knobs,
                    Workload& workload, const Halide::Target& target,
                    const std::string& autoscheduler, std::string* why) {
    try {
        const JitKernel k(family, knobs, target, "variant", autoscheduler,
                          workload.problem().threads);
        const std::string wrong = workload.verify(k.info());
        if (!wrong.empty()) {
            *why = "wrong result: " + wrong;
            return -1;
        }
        return workload.time(k.info(), 5, 0.05).median_us;
    } catch (const Error& e) {
        *why = e.what();
        return -1;
    }
}

// The winner against the target's default schedule and Halide's autoschedulers
// on the same algorithm and layout. Appends a markdown row to `rows`; returns a
// sentence for the report.
std::string compare(const Problem& p, const DbEntry& tuned, const Candidate& winner,
                    Workload& workload, const Halide::Target& target, const ScheduleDb& defaults,
                    std::vector<std::string>& rows) {
    auto cell = [](double us, double tuned_us) {
        char buf[64];
        if (us < 0) return std::string("failed");
        std::snprintf(buf, sizeof buf, "%.1f us (%.2fx)", us, us / tuned_us);
        return std::string(buf);
    };
    std::string why;
    // The tuned kernel again, in the same stretch of time as the others.
    const double tuned_us = time_variant(tuned.family, tuned.knobs, workload, target, "", &why);
    double default_us = -1;
    for (const DbEntry& d : defaults.kernels) {
        const bool gemv_kernel = d.knobs.count("m_tile") && d.knobs.at("m_tile") == 1;
        if (!d.tuned() && d.family == tuned.family && gemv_kernel == (p.op == Op::gemv))
            default_us = time_variant(d.family, d.knobs, workload, target, "", &why);
    }
    std::map<std::string, int> knobs = winner.knobs;
    const Layout layout = [&] {
        KernelInfo info;
        info.family = parse_family(tuned.family);
        info.knobs = knobs;
        return info.layout();
    }();
    const PackedShape padded = packed_shape(layout, p.n, p.k);
    knobs["est_k"] = padded.k_pad;
    knobs["est_n"] = padded.n_pad;
    knobs["est_m"] = p.m_rows;
    std::string row =
        "| " + p.key() + " | " + cell(tuned_us, tuned_us) + " | " + cell(default_us, tuned_us);
    std::string note = "Same algorithm and layout, other schedules:";
    double best_auto = -1;
    for (const std::string& name : load_autoschedulers()) {
        std::string fail;
        const double us = time_variant(tuned.family, knobs, workload, target, name, &fail);
        row += " | " + cell(us, tuned_us);
        note += " " + name + " " + (us < 0 ? "failed (" + fail + ")" : cell(us, tuned_us)) + ";";
        if (us > 0 && (best_auto < 0 || us < best_auto)) best_auto = us;
    }
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.2fx", best_auto > 0 ? best_auto / tuned_us : 0.0);
    row += std::string(" | ") + (best_auto > 0 ? ratio : "n/a") + " |";
    rows.push_back(row);
    note += " default " + cell(default_us, tuned_us) + "; tuned " + cell(tuned_us, tuned_us) + ".";
    std::printf("compare %s\n", row.c_str());
    return note;
}

// An entry's GB/s of packed weights and GOPS, from its median_us on p.
void set_rates(DbEntry& e, const Problem& p) {
    KernelInfo info;
    info.family = parse_family(e.family);
    info.knobs = e.knobs;
    const double seconds = e.median_us * 1e-6;
    e.gbs = static_cast<double>(packed_shape(info.layout(), p.n, p.k).bytes) / seconds / 1e9;
    e.gops = 2.0 * p.k * p.n * p.m_rows / seconds / 1e9;
}

// --in-model: a GEMV problem's contenders, timed in isolation during the
// search and inside decode steps of the model after all searches (the model's
// loading and repacking churn memory, which would disturb the isolated timings
// of later searches).
struct Contender {
    std::string family;
    std::map<std::string, int> knobs;
    std::string label;  // "isolated winner", "finalist", "the bundle's <kernel>"
    double isolated_us = 0, isolated_spread_pct = 0;
    InModelTiming in_model;
};
struct InModelProblem {
    Problem problem;
    size_t entry;  // its database entry
    std::vector<Contender> contenders;
};

// The bundle a target's kernels are compared with and its model runs on: the
// target's own when this binary links it (choose_target made sure this CPU
// runs it), else the default one.
const KernelSet& bundle_of(const TargetInfo& target) {
    for (const KernelSet& b : bundles())
        if (b.target() == target.name && b.runs_here()) return b;
    return default_bundle();
}

// The search's finalists (their isolated medians from the final rounds, the
// winner first) and the kernel the bundle runs for the shape today, timed here
// on the same workload.
std::vector<Contender> contenders(const Problem& p, const SearchResult& r, Workload& workload,
                                  const KernelSet& bundle) {
    std::vector<Contender> out;
    std::map<std::string, std::vector<double>> final_us;
    std::map<std::string, double> final_spread;
    std::vector<Candidate> finalists{*r.best};
    for (const Trial& t : r.trials)
        if (t.phase == "final" && t.status == "ok") {
            if (!final_us.count(t.candidate.key()) && t.candidate.key() != r.best->key())
                finalists.push_back(t.candidate);
            final_us[t.candidate.key()].push_back(t.median_us);
            final_spread[t.candidate.key()] =
                std::max(final_spread[t.candidate.key()], t.spread_pct);
        }
    for (const Candidate& c : finalists) {
        const bool winner = c.key() == r.best->key();
        Contender e;
        e.family = family_name(c.family);
        e.knobs = c.knobs;
        e.label = winner ? "isolated winner" : "finalist";
        const std::vector<double>& us = final_us[c.key()];
        for (double u : us) e.isolated_us += u / us.size();
        e.isolated_spread_pct = final_spread[c.key()];
        if (us.empty() || winner) {
            e.isolated_us = r.timing.median_us;
            e.isolated_spread_pct = r.timing.spread_pct;
        }
        out.push_back(e);
    }
    const KernelInfo& current = *bundle.plan_linear(p.k, p.n, p.threads).gemv;
    for (Contender& e : out)
        if (e.family == family_name(current.family) && e.knobs == current.knobs) {
            e.label += ", the bundle's " + current.name;
            return out;
        }
    const std::string wrong = workload.verify(current);
    if (!wrong.empty()) throw Error("bundle kernel " + current.name + ": " + wrong);
    const Timing t = workload.time(current, 5, 0.05);
    out.push_back({family_name(current.family),
                   current.knobs,
                   "the bundle's " + current.name,
                   t.median_us,
                   t.spread_pct,
                   {}});
    return out;
}

// Times the contenders inside decode steps and returns the index of the
// fastest there, which stays in use in the model (later shapes are timed
// among the winners). JIT kernels the model may still run go to `kept`.
// Appends a markdown row per contender to `rows`.
size_t time_in_model(InModelProblem& ip, const Halide::Target& target, InModelBench& bench,
                     int tokens, std::vector<std::unique_ptr<JitKernel>>& kept,
                     std::vector<std::string>& rows) {
    const Problem& p = ip.problem;
    std::vector<const KernelInfo*> kernels;
    for (const Contender& c : ip.contenders) {
        kept.push_back(std::make_unique<JitKernel>(
            c.family, c.knobs, target, "in_model_" + std::to_string(kept.size()), "", p.threads));
        kernels.push_back(&kept.back()->info());
    }
    std::printf("%s | in model: %zu kernels, 5 rounds of %d decode steps each\n", p.key().c_str(),
                kernels.size(), tokens);
    std::fflush(stdout);
    const std::vector<InModelTiming> timed = bench.time(p.k, p.n, kernels, 5, tokens);
    size_t best = 0;
    for (size_t i = 0; i < timed.size(); ++i) {
        ip.contenders[i].in_model = timed[i];
        if (timed[i].call_us < timed[best].call_us) best = i;
    }
    bench.use(p.k, p.n, *kernels[best]);
    for (size_t i = 0; i < ip.contenders.size(); ++i) {
        const Contender& c = ip.contenders[i];
        const double bytes =
            static_cast<double>(packed_shape(kernels[i]->layout(), p.n, p.k).bytes);
        char row[512];
        std::snprintf(
            row, sizeof row,
            "| %s | %s | %s %s | %.1f (%.1f GB/s) | %.1f ± %.0f%% (%.1f GB/s) | %.2f | %s |",
            p.key().c_str(), c.label.c_str(), c.family.c_str(), describe_knobs(c.knobs).c_str(),
            c.isolated_us, bytes / (c.isolated_us * 1e-6) / 1e9, c.in_model.call_us,
            c.in_model.spread_pct, bytes / (c.in_model.call_us * 1e-6) / 1e9, c.in_model.token_ms,
            i == best ? "chosen" : "");
        rows.push_back(row);
        std::printf("in model %s\n", row);
    }
    return best;
}

// The int8 LM head's knobs that do not change its layout (tiles, tasks,
// prefetch), timed inside decode steps at the bench's thread count; adds each
// candidate's time per token to `total_us` (keyed by its knobs) and leaves
// the fastest in use. Rows for the side-by-side table go to `rows`.
void time_head_in_model(InModelBench& bench, const Halide::Target& target, int tokens,
                        std::vector<std::unique_ptr<JitKernel>>& kept,
                        std::map<std::map<std::string, int>, double>& total_us,
                        std::vector<std::string>& rows) {
    std::map<std::string, int> current = bench.head_gemv().knobs;
    current.emplace("prefetch", 0);  // databases older than the knob lack it
    std::vector<std::map<std::string, int>> grid{current};
    for (int tiles : {1, 2, 4})
        for (int tasks : {16, 64})
            for (int prefetch : {0, 32}) {
                std::map<std::string, int> k = current;
                k["tiles"] = tiles, k["tasks"] = tasks, k["prefetch"] = prefetch;
                if (std::find(grid.begin(), grid.end(), k) == grid.end()) grid.push_back(k);
            }
    std::vector<const KernelInfo*> kernels;
    for (const auto& knobs : grid) {
        kept.push_back(std::make_unique<JitKernel>("int8_gemv", knobs, target,
                                                   "in_model_" + std::to_string(kept.size())));
        kernels.push_back(&kept.back()->info());
    }
    std::printf("lm head t%d | in model: %zu kernels, 5 rounds of %d decode steps each\n",
                bench.threads(), kernels.size(), tokens);
    std::fflush(stdout);
    const std::vector<InModelTiming> timed = bench.time_head(kernels, 5, tokens);
    size_t best = 0;
    for (size_t i = 0; i < timed.size(); ++i) {
        total_us[grid[i]] += timed[i].call_us;
        if (timed[i].call_us < timed[best].call_us) best = i;
    }
    bench.use_head(*kernels[best]);
    for (size_t i = 0; i < grid.size(); ++i) {
        char row[512];
        std::snprintf(row, sizeof row,
                      "| lm head t%d | %s | int8_gemv %s | | %.1f ± %.0f%% | %.2f | %s |",
                      bench.threads(), i == 0 ? "the bundle's int8_gemv" : "candidate",
                      describe_knobs(grid[i]).c_str(), timed[i].call_us, timed[i].spread_pct,
                      timed[i].token_ms, i == best ? "fastest here" : "");
        rows.push_back(row);
        std::printf("in model %s\n", row);
    }
}

// The target to tune for: --target (which this CPU must run), else the most
// capable one it runs.
const TargetInfo& choose_target(const Options& o, const std::vector<TargetInfo>& targets,
                                const HostCpu& cpu) {
    if (o.target.empty()) {
        std::string why;
        const TargetInfo& t = choose_host_target(targets, cpu, &why);
        std::printf("target %s: %s\n", t.name.c_str(), why.c_str());
        return t;
    }
    const TargetInfo* target = nullptr;
    for (const TargetInfo& t : targets)
        if (t.name == o.target) target = &t;
    if (!target) throw Error("--target: no targets/" + o.target + ".yaml in " + o.targets_dir);
    const auto missing = missing_features(*target, cpu);
    if (!missing.empty()) {
        std::string m;
        for (const auto& f : missing) m += (m.empty() ? "" : ", ") + f;
        throw Error("--target " + o.target + ": this CPU (" + cpu.model + ") lacks " + m +
                    "; kernels for it cannot run here" +
                    (target->llvm_cpu.empty()
                         ? std::string()
                         : " (the tuner JIT-compiles them for Halide's target " +
                               target->halide_target + "; only the bundle is compiled for " +
                               target->llvm_cpu + ")"));
    }
    std::printf("target %s (chosen with --target)\n", target->name.c_str());
    return *target;
}

std::string defaults_path(const TargetInfo& target) {
    return std::string(TERN_SOURCE_DIR "/schedules/") + target.name + ".yaml";
}

// The database to fill: the existing one with --resume (its finished kernels
// kept), else the target's defaults without their tuned entries, so that it
// builds on its own (the generic kernels: norm, LM head, fallbacks).
ScheduleDb open_database(const Options& o, const TargetInfo& target, const ScheduleDb& defaults,
                         const Provenance& here, const std::string& out) {
    ScheduleDb db;
    if (o.resume && std::filesystem::exists(out)) {
        db = load_schedule_db(out);
        if (db.target != target.name)
            throw Error(out + ": database is for target " + db.target + ", not " + target.name);
        for (const std::string& m : provenance_mismatches(db.provenance, here))
            std::printf(
                "warning: %s: %s; its timings are not comparable, finished kernels are kept\n",
                out.c_str(), m.c_str());
        std::printf("resuming %s: %zu kernels present\n", out.c_str(), db.kernels.size());
    } else {
        db = defaults;
        for (auto it = db.kernels.begin(); it != db.kernels.end();)
            it = it->tuned() ? db.kernels.erase(it) : it + 1;
    }
    db.target = target.name;
    db.provenance = here;
    return db;
}

// One problem per op, shape and thread count.
std::vector<Problem> plan_problems(const Options& o) {
    std::vector<Problem> problems;
    for (Op op : o.ops)
        for (const auto& [k, n] : o.shapes)
            for (int t : o.threads)
                problems.push_back({op, k, n, op == Op::gemv ? 1 : o.m_rows, t});
    return problems;
}

// Every candidate of the target's families for p, less those --families and
// --restrict leave out.
std::vector<Candidate> candidate_pool(const Options& o, const TargetInfo& target,
                                      const Problem& p) {
    std::vector<Candidate> pool;
    for (const std::string& f : target.families) {
        if (!o.families.empty() &&
            std::find(o.families.begin(), o.families.end(), f) == o.families.end())
            continue;
        for (Candidate& c : enumerate(parse_family(f), p.op, target)) {
            bool keep = true;
            for (const auto& [knob, values] : o.restrict) {
                const auto it = c.knobs.find(knob);
                if (it != c.knobs.end() &&
                    std::find(values.begin(), values.end(), it->second) == values.end())
                    keep = false;
            }
            if (keep) pool.push_back(std::move(c));
        }
    }
    if (pool.empty()) throw Error(p.key() + ": --families/--restrict leave no candidate");
    return pool;
}

// The database name of a tuned kernel: family, op, shape, rows (GEMM), threads.
std::string entry_name(const std::string& family, const Problem& p) {
    return family + "_" + op_name(p.op) + "_" + std::to_string(p.k) + "x" + std::to_string(p.n) +
           (p.op == Op::gemm ? "_m" + std::to_string(p.m_rows) : "") + "_t" +
           std::to_string(p.threads);
}

// What the steps share.
struct Session {
    Options o;
    const TargetInfo* target = nullptr;
    Halide::Target halide_target;
    ScheduleDb db, defaults;
    std::string out, report_path, heading;
    std::vector<std::string> comparisons, in_model_rows;
    std::vector<ProblemReport> reports;
    // --in-model: the JIT kernels the model may run (declared first: destroyed
    // after the models), and the GEMV problems to rerank.
    std::vector<std::unique_ptr<JitKernel>> kept_kernels;
    std::vector<InModelProblem> in_model_problems;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    double elapsed() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
};

// Searches every problem the database lacks, saving it after each.
void search_problems(Session& s, const std::vector<Problem>& problems) {
    const Options& o = s.o;
    size_t index = 0;
    for (const Problem& p : problems) {
        ++index;
        if (s.db.find(op_name(p.op), p.k, p.n, p.m_rows, p.threads)) {
            std::printf("[%zu/%zu] %s: done earlier, kept\n", index, problems.size(),
                        p.key().c_str());
            continue;
        }
        const double share = std::max(
            1.0, (o.budget_s - s.elapsed()) / static_cast<double>(problems.size() - index + 1));
        Workload workload(p, o.stream_mib << 20);
        std::vector<Candidate> pool = candidate_pool(o, *s.target, p);
        SearchOptions so;
        so.budget_s = o.exhaustive ? 1e9 : share;
        so.seed = o.seed + static_cast<uint32_t>(index);
        for (const DbEntry& d : s.defaults.kernels) {  // the default schedules as seeds
            const bool gemv_kernel = d.knobs.count("m_tile") && d.knobs.at("m_tile") == 1;
            if (d.tuned() || gemv_kernel != (p.op == Op::gemv)) continue;
            for (const Candidate& c : pool)
                if (family_name(c.family) == d.family && c.knobs == d.knobs) so.seeds.push_back(c);
        }
        const double total_left = o.budget_s - s.elapsed();
        const auto progress = [&](const Trial& t, const SearchResult& r, double left) {
            std::printf("[%zu/%zu] %s | %3d tried, %d rejected | %s left | %-7s %s: %s", index,
                        problems.size(), p.key().c_str(), r.tried, r.rejected,
                        o.exhaustive
                            ? "(exhaustive)"
                            : clock_text(std::max(0.0, total_left - (share - left))).c_str(),
                        t.phase.c_str(), t.candidate.key().c_str(),
                        t.status == "ok" ? (std::to_string(t.median_us) + " us").c_str()
                                         : t.status.c_str());
            if (r.best) std::printf(" | best %.1f us", r.timing.median_us);
            std::printf("\n");
            std::fflush(stdout);
        };
        const SearchResult r =
            search(workload, pool, *s.target, so, jit_evaluator(s.halide_target), progress);
        if (!r.best) throw Error(p.key() + ": no candidate compiled and verified");

        DbEntry e;
        e.family = family_name(r.best->family);
        e.knobs = r.best->knobs;
        e.median_us = r.timing.median_us;
        e.spread_pct = r.timing.spread_pct;
        e.op = op_name(p.op);
        e.k = p.k;
        e.n = p.n;
        e.m = p.m_rows;
        e.threads = p.threads;
        e.name = entry_name(e.family, p);
        if (o.in_model && p.op == Op::gemv)
            s.in_model_problems.push_back(
                {p, s.db.kernels.size(), contenders(p, r, workload, bundle_of(*s.target))});
        set_rates(e, p);
        e.tried = r.tried;
        s.db.kernels.push_back(e);
        save_schedule_db(s.db, s.out);
        std::string note;
        if (o.compare)
            note = compare(p, e, *r.best, workload, s.halide_target, s.defaults, s.comparisons);
        s.reports.push_back({p.key(), r, note});
        write_report(s.report_path, s.heading, s.reports);
        std::printf(
            "[%zu/%zu] %s: %s %s, %.1f us (spread %.0f%%), %.1f GB/s, %.0f GOPS, %d tried -> %s\n",
            index, problems.size(), p.key().c_str(), e.family.c_str(),
            describe_knobs(e.knobs).c_str(), e.median_us, e.spread_pct, e.gbs, e.gops, e.tried,
            s.out.c_str());
    }
    save_schedule_db(s.db, s.out);
}

// --in-model: each GEMV's contenders timed inside decode steps of the model,
// the fastest there written to the database; the LM head's knobs too when the
// model runs this target's bundle (one head kernel per bundle: chosen by its
// time summed over the thread counts).
void rerank_in_model(Session& s) {
    if (s.in_model_problems.empty()) return;
    const Options& o = s.o;
    // One thread count at a time: the model is loaded once for each.
    std::stable_sort(s.in_model_problems.begin(), s.in_model_problems.end(),
                     [](const InModelProblem& a, const InModelProblem& b) {
                         return a.problem.threads < b.problem.threads;
                     });
    const KernelSet& bundle = bundle_of(*s.target);
    const bool head = bundle.target() == s.target->name;
    std::map<std::map<std::string, int>, double> head_us;
    std::unique_ptr<InModelBench> bench;
    for (size_t i = 0; i < s.in_model_problems.size(); ++i) {
        InModelProblem& ip = s.in_model_problems[i];
        const Problem& p = ip.problem;
        if (!bench || bench->threads() != p.threads) {
            bench.reset();
            std::printf("loading %s at %d thread%s on bundle %s for in-model timing\n",
                        o.model.c_str(), p.threads, p.threads == 1 ? "" : "s",
                        bundle.target().c_str());
            std::fflush(stdout);
            bench = std::make_unique<InModelBench>(o.model, p.threads, bundle.target());
        }
        const size_t best = time_in_model(ip, s.halide_target, *bench, o.in_model_tokens,
                                          s.kept_kernels, s.in_model_rows);
        const Contender& c = ip.contenders[best];
        DbEntry& e = s.db.kernels[ip.entry];
        e.name = entry_name(c.family, p);  // the name says the family
        e.family = c.family;
        e.knobs = c.knobs;
        e.median_us = c.isolated_us;
        e.spread_pct = c.isolated_spread_pct;
        e.model_us = c.in_model.call_us;
        e.model_spread_pct = c.in_model.spread_pct;
        set_rates(e, p);
        save_schedule_db(s.db, s.out);
        const bool last_of_count = i + 1 == s.in_model_problems.size() ||
                                   s.in_model_problems[i + 1].problem.threads != p.threads;
        if (head && last_of_count)
            time_head_in_model(*bench, s.halide_target, o.in_model_tokens, s.kept_kernels, head_us,
                               s.in_model_rows);
    }
    if (!head) {
        std::printf("the LM head is not timed in the model: it runs bundle %s, not %s\n",
                    bundle.target().c_str(), s.target->name.c_str());
        return;
    }
    auto best = head_us.begin();
    for (auto it = head_us.begin(); it != head_us.end(); ++it)
        if (it->second < best->second) best = it;
    for (DbEntry& e : s.db.kernels)
        if (e.name == "int8_gemv") e.knobs = best->first;
    save_schedule_db(s.db, s.out);
    std::printf("lm head: int8_gemv %s, the fastest in the model summed over the thread counts\n",
                describe_knobs(best->first).c_str());
}

void print_tables(const Session& s) {
    if (!s.comparisons.empty()) {
        std::printf(
            "\n| problem | tuned | default | Adams2019 | Li2018 | Mullapudi2016 | tuned vs best "
            "autoscheduler |\n");
        std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
        for (const std::string& row : s.comparisons) std::printf("%s\n", row.c_str());
        std::printf("\n");
    }
    if (!s.in_model_rows.empty()) {
        std::printf(
            "\nGEMV kernels in isolation (weights streamed from memory) and inside decode steps "
            "of %s (the fastest there chosen):\n\n",
            s.o.model.c_str());
        std::printf(
            "| problem | kernel | knobs | isolated us | in model us | token ms | |\n"
            "| --- | --- | --- | ---: | ---: | ---: | --- |\n");
        for (const std::string& row : s.in_model_rows) std::printf("%s\n", row.c_str());
        std::printf("\n");
    }
    std::printf("wrote %s (%zu kernels) and %s in %s\n", s.out.c_str(), s.db.kernels.size(),
                s.report_path.c_str(), clock_text(s.elapsed()).c_str());
}

int run(int argc, char** argv) {
    const std::optional<Options> options = parse(argc - 1, argv + 1);
    if (!options) return 0;
    Session s;
    s.o = *options;
    const std::vector<TargetInfo> targets = load_targets(s.o.targets_dir);
    const HostCpu cpu = detect_host_cpu();
    s.target = &choose_target(s.o, targets, cpu);
    s.halide_target = Halide::Target(s.target->halide_target);
    const Provenance here{cpu.model, s.target->cpu_features, TERN_HALIDE_VERSION, TERN_VERSION,
                          today()};
    s.out = s.o.out.empty()
                ? std::string(TERN_SOURCE_DIR "/schedules/") + s.target->name + ".tuned.yaml"
                : s.o.out;
    s.report_path = s.o.report.empty() ? s.out + ".html" : s.o.report;
    s.heading = "target " + s.target->name + " on " + cpu.model + ", Halide " + here.halide +
                ", tern " + here.tern + ", " + here.date;
    s.defaults = load_schedule_db(defaults_path(*s.target));
    s.db = open_database(s.o, *s.target, s.defaults, here, s.out);
    search_problems(s, plan_problems(s.o));
    rerank_in_model(s);
    print_tables(s);
    return 0;
}

}  // namespace
}  // namespace tern::tune

int main(int argc, char** argv) {
    try {
        return tern::tune::run(argc, argv);
    } catch (const tern::Error& e) {
        const std::string what = e.what();  // the flag parser names the program itself
        std::fprintf(stderr, "%s%s\n",
                     what.rfind("tern-tune:", 0) == 0 ? "" : "tern-tune: ", what.c_str());
        return 1;
    }
}
