// The bundles linked into this binary and the default one.
#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <numeric>

#include "linked_bundles.inc"  // generated: tern::detail::linked_bundles()
#include "tern/cpu.h"
#include "tern/error.h"
#include "tern/kernels.h"

namespace tern {
namespace {

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

const KernelSet& choose_default() {
    if (const char* forced = std::getenv("TERN_BUNDLE"); forced && *forced) {
        try {
            return runnable_bundle(forced);
        } catch (const Error& e) {
            throw Error(std::string("TERN_BUNDLE: ") + e.what());
        }
    }
    std::string rejected;
    for (const KernelSet& b : bundles()) {
        const auto missing = b.missing_features();
        if (missing.empty()) return b;
        rejected += "; " + b.target() + " needs " + join(missing);
    }
    throw Error("no kernel bundle in this binary runs on this CPU (" + host_cpu().model + ")" +
                rejected);
}

}  // namespace

KernelSet::KernelSet(const BundleManifest& manifest) : manifest_(&manifest) {
    for (int i = 0; i < manifest.num_kernels; ++i) {
        const BundleKernel& e = manifest.kernels[i];
        KernelInfo k;
        k.name = e.name;
        if (!find_family(e.family, &k.family))
            throw Error(std::string("bundle ") + manifest.target + ": kernel " + e.name +
                        " has the unknown family '" + e.family + "'");
        for (int j = 0; j < e.num_knobs; ++j) k.knobs[e.knobs[j].name] = e.knobs[j].value;
        k.entry = e.entry;
        k.op = e.op;
        k.k = e.k;
        k.n = e.n;
        k.m = e.m;
        k.threads = e.threads;
        kernels_.push_back(std::move(k));
    }
}

std::vector<std::string> KernelSet::missing_features() const {
    const std::vector<std::string> features(manifest_->cpu_features,
                                            manifest_->cpu_features + manifest_->num_cpu_features);
    return tern::missing_features(manifest_->halide_target, features, host_cpu());
}

const KernelInfo& KernelSet::kernel(const std::string& name) const {
    std::vector<std::string> known;
    for (const KernelInfo& k : kernels_) {
        if (k.name == name) return k;
        known.push_back(k.name);
    }
    throw Error("no kernel named '" + name + "' in bundle " + target() + " (have: " + join(known) +
                ")");
}

const KernelInfo& KernelSet::kernel_for(Family f, int m_rows) const {
    const KernelInfo* best = nullptr;
    for (const KernelInfo& k : kernels_) {
        if (k.family != f || !k.op.empty() || k.m_tile() > m_rows) continue;
        if (!best || k.m_tile() > best->m_tile()) best = &k;
    }
    if (!best)
        throw Error("bundle " + target() + " has no generic " + family_name(f) + " kernel for " +
                    std::to_string(m_rows) + " rows");
    return *best;
}

LinearPlan KernelSet::plan_linear(int k, int n, int threads, WeightFormat format) const {
    auto readable = [&](const KernelInfo& c) { return layout_has_format(c.layout(), format); };
    // Tuned nearer `threads`; between kernels tuned at the same distance (a
    // database may hold winners of both weight forms), the one reading fewer
    // bytes.
    auto nearer = [&](const KernelInfo& a, const KernelInfo& b) {
        const int da = std::abs(a.threads - threads), db = std::abs(b.threads - threads);
        return da != db ? da < db : a.layout().bits_per_weight() < b.layout().bits_per_weight();
    };
    // Tuned kernels of `op` for this shape, the one tuned nearest `threads` first
    // (GEMMs for prompts: tuned for more rows than a serving batch).
    auto tuned = [&](const char* op, const Layout* layout) -> const KernelInfo* {
        const KernelInfo* best = nullptr;
        for (const KernelInfo& c : kernels_) {
            if (c.op != op || c.k != k || c.n != n || !readable(c)) continue;
            if (c.op == "gemm" && c.m <= LinearPlan::kBatchRows) continue;
            if (layout && !same_packing(c.layout(), *layout)) continue;
            if (!best || nearer(c, *best)) best = &c;
        }
        return best;
    };
    // A generic GEMM kernel (largest row tile) reading `layout`, if any.
    auto generic_gemm = [&](const Layout& layout) -> const KernelInfo* {
        const KernelInfo* best = nullptr;
        for (const KernelInfo& c : kernels_) {
            if (!c.is_ternary() || !c.op.empty() || c.m_tile() == 1) continue;
            if (!same_packing(c.layout(), layout)) continue;
            if (!best || c.m_tile() > best->m_tile()) best = &c;
        }
        return best;
    };
    LinearPlan plan;
    plan.gemv = tuned("gemv", nullptr);
    if (plan.gemv) {
        // A tuned GEMV whose layout no GEMM kernel reads would leave prompt
        // processing to the GEMV kernel, many times slower than any GEMM: then
        // the generic pair, which share a layout, is the better plan.
        const Layout l = plan.gemv->layout();
        if (!tuned("gemm", &l) && !generic_gemm(l)) plan.gemv = nullptr;
    }
    if (!plan.gemv) {
        // The bundle's first generic tmad GEMV of the format (kernel_for's choice
        // when any format will do).
        const auto generic =
            std::find_if(kernels_.begin(), kernels_.end(), [&](const KernelInfo& c) {
                return c.family == Family::tmad && c.op.empty() && c.m_tile() == 1 && readable(c);
            });
        if (generic == kernels_.end()) {
            const std::string form = format == WeightFormat::tuned
                                         ? "ternary"
                                         : std::string(weight_format_name(format)) + "-bit";
            throw Error("bundle " + target() + " has no tmad GEMV kernel for " + form + " weights");
        }
        plan.gemv = &*generic;
    }
    plan.layout = plan.gemv->layout();
    plan.gemm = tuned("gemm", &plan.layout);
    if (!plan.gemm) plan.gemm = generic_gemm(plan.layout);
    if (!plan.gemm) plan.gemm = plan.gemv;
    // GEMMs tuned for serving batches, one per tuned m (the nearest thread count).
    for (const KernelInfo& c : kernels_) {
        if (c.op != "gemm" || c.k != k || c.n != n || c.m > LinearPlan::kBatchRows) continue;
        if (!same_packing(c.layout(), plan.layout)) continue;
        auto same_m = std::find_if(plan.batch.begin(), plan.batch.end(),
                                   [&](const KernelInfo* b) { return b->m == c.m; });
        if (same_m == plan.batch.end())
            plan.batch.push_back(&c);
        else if (nearer(c, **same_m))
            *same_m = &c;
    }
    std::sort(plan.batch.begin(), plan.batch.end(),
              [](const KernelInfo* a, const KernelInfo* b) { return a->m < b->m; });
    plan.layout.k_align = std::lcm(plan.layout.k_align, plan.gemm->layout().k_align);
    for (const KernelInfo* b : plan.batch)
        plan.layout.k_align = std::lcm(plan.layout.k_align, b->layout().k_align);
    return plan;
}

const std::vector<KernelSet>& bundles() {
    static const std::vector<KernelSet> all = [] {
        std::vector<KernelSet> out;
        for (const BundleManifest* m : detail::linked_bundles()) out.emplace_back(*m);
        // Most capable first: a bundle needing more CPU features is the better
        // choice on a CPU that has them.
        std::stable_sort(out.begin(), out.end(), [](const KernelSet& a, const KernelSet& b) {
            return a.manifest().num_cpu_features > b.manifest().num_cpu_features;
        });
        return out;
    }();
    return all;
}

const KernelSet& bundle(const std::string& target) {
    std::vector<std::string> known;
    for (const KernelSet& b : bundles()) {
        if (b.target() == target) return b;
        known.push_back(b.target());
    }
    throw Error("no bundle for target '" + target + "' in this binary (have: " + join(known) + ")");
}

const KernelSet& runnable_bundle(const std::string& target) {
    const KernelSet& b = bundle(target);
    const auto missing = b.missing_features();
    if (!missing.empty())
        throw Error("bundle " + target + " cannot run on this CPU (" + host_cpu().model +
                    "): it lacks " + join(missing));
    return b;
}

const KernelSet& default_bundle() {
    // Not a function-local static: a failed choice (TERN_BUNDLE naming a bundle
    // this CPU cannot run) is reported again at the next call.
    static std::mutex mu;
    static const KernelSet* chosen = nullptr;
    std::lock_guard<std::mutex> lock(mu);
    if (!chosen) chosen = &choose_default();
    return *chosen;
}

const KernelInfo& head_batch_kernel(const KernelInfo& kernel, const std::string& name) {
    for (const KernelSet& b : bundles()) {
        const auto& ks = b.kernels();
        if (ks.empty() || &kernel < &ks.front() || &kernel > &ks.back()) continue;
        for (const KernelInfo& c : ks)
            if (c.name == name && c.family == kernel.family &&
                c.knob("lanes") == kernel.knob("lanes") && c.knob("dot") == kernel.knob("dot"))
                return c;
    }
    return kernel;
}

}  // namespace tern
