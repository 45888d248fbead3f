// Uses an installed tern: lists the bundles, picks the kernels for a weight
// shape from the default bundle's manifest, runs one ternary GEMV and checks it
// against the reference. Exit status 0 only if the result is exact.
#include <tern/backend.h>
#include <tern/bundles/x86_64_avx2.h>
#include <tern/kernels.h>
#include <tern/reference.h>

#include <cstdio>
#include <random>

int main() {
    try {
        for (const tern::KernelSet& b : tern::bundles())
            std::printf("bundle %s (%d kernels)%s\n", b.target().c_str(), b.manifest().num_kernels,
                        b.runs_here() ? "" : " cannot run here");
        // A bundle's own header gives its manifest directly.
        std::printf("x86-64-avx2 manifest: %s\n", tern::manifests::x86_64_avx2().halide_target);

        const int k = 640, n = 96;
        tern::TernaryMatrix w(n, k, 0.25f);
        std::mt19937 rng(7);
        for (auto& v : w.w) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
        std::vector<int8_t> q(k);
        for (auto& v : q) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
        const float q_scale = 0.02f;

        // A backend: the best bundle this CPU runs, on one thread; the kernels
        // called in its scope run their loops on its threads.
        const auto backend = tern::Backend::create("", 1);
        const tern::Backend::Scope scope(*backend);
        const tern::LinearPlan plan = backend->bundle().plan_linear(k, n, 1);
        const tern::PackedMatrix packed = tern::pack(w, plan.layout);
        std::vector<float> got(n), want(n);
        tern::ternary_linear(plan.for_rows(1), packed, q.data(), &q_scale, 1, got.data());
        tern::ref::ternary_linear(w, q.data(), &q_scale, 1, want.data());
        std::printf("backend bundle %s, kernel %s\n", backend->bundle().target().c_str(),
                    plan.gemv->name.c_str());
        if (got != want) {
            std::printf("FAIL: kernel and reference differ\n");
            return 1;
        }
        std::printf("PASS: %d outputs exact\n", n);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "consumer: %s\n", e.what());
        return 1;
    }
}
