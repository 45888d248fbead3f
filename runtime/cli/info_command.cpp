// tern info: the CPU, the bundles and which one runs, and for a model the
// kernel family and knobs chosen for each weight shape.
#include <cstdio>
#include <map>

#include "commands.h"
#include "model_flags.h"
#include "tern/chat_format.h"
#include "tern/cpu.h"
#include "tern/error.h"
#include "tern/tokenizer.h"

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
    const auto backend = Backend::create(options.bundle, options.threads);
    const KernelSet& active = backend->bundle();

    const CpuInfo& cpu = host_cpu();
    std::printf("CPU: %s (%s, %s)\n", cpu.model.c_str(), cpu.arch.c_str(), cpu.os.c_str());
    std::printf("features: %s\n", join({cpu.features.begin(), cpu.features.end()}).c_str());
    std::printf("bundles in this binary (most capable first):\n");
    for (const KernelSet& b : bundles()) {
        const auto missing = b.missing_features();
        std::printf(
            "  %-22s %d kernels, %s%s\n", b.target().c_str(), b.manifest().num_kernels,
            missing.empty() ? "runs here" : ("cannot run here: lacks " + join(missing)).c_str(),
            &b == &active ? "  <- in use" : "");
    }
    std::printf("in use: %s (%s), built from %s%s; float loops %s\n", active.target().c_str(),
                active.manifest().halide_target, active.manifest().schedules,
                args.given("bundle")         ? "; chosen by --bundle"
                : std::getenv("TERN_BUNDLE") ? "; chosen by TERN_BUNDLE"
                                             : "; the most capable bundle this CPU runs",
                backend->vector_isa());
    if (args.str("model").empty()) return 0;

    auto model = load_model(args, options, false, backend);
    const ModelConfig& c = model->config();
    const gguf::File& f = model->file();
    std::printf("\nmodel: %s (%s, %.1f MiB)\n", f.path().c_str(),
                f.has("general.name") ? f.get_string("general.name").c_str() : "unnamed",
                f.size() / 1048576.0);
    std::printf("  family: %s; architecture %s (%s)\n", c.family.c_str(), c.arch->name,
                c.arch->origin);
    std::printf(
        "  %d layers, hidden %d, %d heads (%d KV heads, head size %d), FFN %d, vocabulary "
        "%d\n",
        c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim, c.n_ff, c.n_vocab);
    std::string norms;
    auto note = [&](bool has, const char* what) {
        if (has) norms += (norms.empty() ? "" : ", ") + std::string(what);
    };
    note(c.arch->has(LayerTensor::attn_sub_norm), "sub-norms");
    note(c.arch->has(LayerTensor::attn_q_norm_in), "per-projection input norms");
    note(c.arch->q_head_norm.has_value(), "QK head norms");
    note(c.arch->attn_post_norm.has_value(), "post-norms");
    note(c.arch->embedding_scaled, "embeddings times sqrt(hidden)");
    std::printf("  RoPE %s, theta %g; RMSNorm eps %g; %s; trained context %d\n",
                rope_style_name(c.arch->rope), c.rope_theta, c.rms_eps,
                norms.empty() ? "no sub-norms" : norms.c_str(), c.n_ctx_train);
    std::printf("  activation: %s, %s\n", activation_name(c.activation),
                c.activation_source.c_str());
    // Tensor types by group, as stored in the file.
    std::map<std::string, std::map<std::string, int>> groups;
    for (const gguf::TensorInfo& t : f.tensors()) {
        const bool layer = t.name.rfind("blk.", 0) == 0;
        const std::string group = !layer                                       ? t.name
                                  : t.name.find("norm") != std::string::npos   ? "layer norms"
                                  : t.name.find(".scale") != std::string::npos ? "layer scales"
                                                                               : "ternary matrices";
        ++groups[group][gguf::tensor_type_name(t.type)];
    }
    std::printf("  tensor types:");
    for (const auto& [group, types] : groups) {
        std::string list;
        for (const auto& [type, n] : types)
            list += (list.empty() ? "" : "+") + type + (n > 1 ? " x" + std::to_string(n) : "");
        std::printf(" %s %s;", group.c_str(), list.c_str());
    }
    std::printf("\n");
    if (c.embedding_model()) {
        const Tokenizer tok = Tokenizer::from_gguf(f);
        std::printf(
            "  embedding model: %d floats per text, %s pooling%s, L2-normalised by default; no "
            "LM head (tern embed, tern serve's /v1/embeddings)\n",
            c.n_embd, pooling_name(c.pooling),
            tok.add_eos() ? " (EOS appended to every text)" : "");
    } else {
        std::printf("  LM head: %s (%s, %s); run as %s\n", c.head_tensor.c_str(),
                    c.tied_head() ? "tied to the embedding" : "untied",
                    gguf::tensor_type_name(f.tensor(c.head_tensor).type),
                    model->options().lm_head == LmHead::int8 ? "int8 rows made at load"
                    : model->options().lm_head == LmHead::int4
                        ? "4-bit rows made at load (groups of 64)"
                        : "the file's rows");
    }
    if (c.n_swa > 0)
        std::printf(
            "  attention: a window of %d positions (RoPE base %g) except every %dth layer\n",
            c.n_swa, c.rope_theta_swa, c.arch->swa_period);
    if (!c.embedding_model()) {
        std::string source;
        try {
            const ChatFormat format = choose_chat_format(f, c, "", &source);
            std::printf("  chat format: %s, %s\n", format.name.c_str(), source.c_str());
        } catch (const Error& e) {
            std::printf("  chat format: none recognised (%s)\n", e.what());
        }
    }
    if (f.has("tern.vocabulary"))
        std::printf("  vocabulary: %s\n", f.get_string("tern.vocabulary").c_str());
    std::printf("  loaded in %.2f s, %.1f MiB of repacked weights; a token reads %.1f MiB\n",
                model->load_seconds(), model->packed_bytes() / 1048576.0,
                model->bytes_per_token() / 1048576.0);
    std::printf("kernels per weight shape (threads %d):\n", model->backend().threads());
    for (const Model::LinearChoice& l : model->linear_choices()) {
        std::printf("  %-26s %5d x %-5d %.2f bits per weight (%.2f with padding), %.2f MiB\n",
                    l.tensor.c_str(), l.k, l.n, l.layout.bits_per_weight(),
                    8.0 * static_cast<double>(l.bytes) / (static_cast<double>(l.k) * l.n),
                    l.bytes / 1048576.0);
        std::printf("  %-26s %13s gemv %s [%s %s]\n", "", "", l.gemv->name.c_str(),
                    family_name(l.gemv->family), knobs_text(*l.gemv).c_str());
        std::printf("  %-26s %13s gemm %s [%s %s]\n", "", "", l.gemm->name.c_str(),
                    family_name(l.gemm->family), knobs_text(*l.gemm).c_str());
        for (const KernelInfo* b : l.batch)
            std::printf("  %-26s %13s batch of %d: %s [%s %s]\n", "", "", b->m, b->name.c_str(),
                        family_name(b->family), knobs_text(*b).c_str());
    }
    return 0;
}

}  // namespace tern::cli
