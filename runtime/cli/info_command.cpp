// tern info: the CPU, the bundles and which one runs, and for a model the
// kernel family and knobs chosen for each weight shape.
#include <cstdio>

#include "commands.h"
#include "model_flags.h"
#include "tern/cpu.h"

namespace tern::cli {
namespace {

std::string knobs_text(const KernelInfo& k) {
    std::string s;
    for (const auto& [name, value] : k.knobs)
        s += (s.empty() ? "" : " ") + name + "=" + std::to_string(value);
    return s;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

}  // namespace

int info_command(int argc, char** argv) {
    ArgParser args("info", "[-m FILE] [options]");
    add_model_flags(args, "0");
    if (!args.parse(argc, argv)) return 0;
    const ModelOptions options =
        model_options(args, static_cast<int>(args.integer("threads", 0, 1024)));

    const CpuInfo& cpu = host_cpu();
    std::printf("CPU: %s (%s, %s)\n", cpu.model.c_str(), cpu.arch.c_str(), cpu.os.c_str());
    std::printf("features: %s\n", join({cpu.features.begin(), cpu.features.end()}).c_str());
    std::printf("bundles in this binary (most capable first):\n");
    for (const KernelSet& b : bundles()) {
        const auto missing = b.missing_features();
        std::printf(
            "  %-22s %d kernels, %s%s\n", b.target().c_str(), b.manifest().num_kernels,
            missing.empty() ? "runs here" : ("cannot run here: lacks " + join(missing)).c_str(),
            &b == &active_bundle() ? "  <- in use" : "");
    }
    const KernelSet& active = active_bundle();
    std::printf("in use: %s (%s), built from %s%s\n", active.target().c_str(),
                active.manifest().halide_target, active.manifest().schedules,
                args.given("bundle")         ? "; chosen by --bundle"
                : std::getenv("TERN_BUNDLE") ? "; chosen by TERN_BUNDLE"
                                             : "; the most capable bundle this CPU runs");
    if (args.str("model").empty()) return 0;

    auto model = load_model(args, options, false);
    const ModelConfig& c = model->config();
    const gguf::File& f = model->file();
    std::printf("\nmodel: %s (%s, %.1f MiB)\n", f.path().c_str(),
                f.has("general.name") ? f.get_string("general.name").c_str() : "unnamed",
                f.size() / 1048576.0);
    std::printf(
        "  bitnet: %d layers, hidden %d, %d heads (%d KV heads, head size %d), FFN %d, vocabulary "
        "%d\n",
        c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim, c.n_ff, c.n_vocab);
    std::printf("  RoPE theta %g, RMSNorm eps %g, trained context %d\n", c.rope_theta, c.rms_eps,
                c.n_ctx_train);
    std::printf("  activation: %s, %s\n", activation_name(c.activation),
                c.activation_source.c_str());
    std::printf("  LM head: %s (embedding %s)\n", lm_head_name(model->options().lm_head),
                gguf::tensor_type_name(f.tensor("token_embd.weight").type));
    if (f.has("tern.vocabulary"))
        std::printf("  vocabulary: %s\n", f.get_string("tern.vocabulary").c_str());
    std::printf("  loaded in %.2f s, %.1f MiB of repacked weights\n", model->load_seconds(),
                model->packed_bytes() / 1048576.0);
    std::printf("kernels per weight shape (threads %d):\n", model->options().threads);
    for (const Model::LinearChoice& l : model->linear_choices()) {
        std::printf("  %-26s %5d x %-5d gemv %s [%s %s]\n", l.tensor.c_str(), l.k, l.n,
                    l.gemv->name.c_str(), l.gemv->family.c_str(), knobs_text(*l.gemv).c_str());
        std::printf("  %-26s %13s gemm %s [%s %s]\n", "", "", l.gemm->name.c_str(),
                    l.gemm->family.c_str(), knobs_text(*l.gemm).c_str());
    }
    return 0;
}

}  // namespace tern::cli
