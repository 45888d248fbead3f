// What a model runs on: one kernel bundle, the float loops of the same
// instruction set, and its own threads. Models with
// different backends (bundles, thread counts) live side by side in one process;
// nothing about them is process-wide.
#pragma once

#include <memory>
#include <string>

#include "tern/kernels.h"

namespace tern {

class ThreadPool;
struct VectorLoops;

class Backend {
public:
    // `target`'s bundle ("": default_bundle(), which TERN_BUNDLE can name) on
    // `threads` threads (0: every core). Throws tern::Error if the bundle is not
    // linked in or this CPU cannot run it (the message lists what it lacks).
    static std::shared_ptr<Backend> create(const std::string& target = "", int threads = 0);
    ~Backend();
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;

    const KernelSet& bundle() const { return *bundle_; }
    int threads() const;
    // From now on (0: every core). Models sharing the backend share the count.
    void set_threads(int threads);

    // The instruction set of the model's float loops (attention, the
    // file-precision LM head): the widest its bundle's CPU features include
    // ("avx512f", "avx2" or "generic"), so that a model forced onto a narrower
    // bundle runs as it would on a CPU of that bundle.
    const char* vector_isa() const;
    // Those loops (internal: kernels/vector_loops.h).
    const VectorLoops& vector_loops() const { return *vector_loops_; }

    // Runs body(i) for i in [0, n) on the backend's threads; a call from inside
    // one of its loops runs serially.
    template <typename Body>
    void parallel_for(int n, const Body& body) const {
        run(
            n, [](const void* b, int i) { (*static_cast<const Body*>(b))(i); }, &body);
    }

    // While a Scope lives, the kernel API's functions (ternary_linear,
    // rmsnorm_quantize, int8_gemm, ...) called on this thread run their
    // parallel loops on this backend's threads rather than the default pool's.
    class Scope {
    public:
        explicit Scope(const Backend& backend);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        ThreadPool* previous_;
    };

private:
    Backend(const KernelSet& bundle, int threads);
    void run(int n, void (*task)(const void*, int), const void* body) const;

    const KernelSet* bundle_;
    const VectorLoops* vector_loops_;
    std::unique_ptr<ThreadPool> pool_;
};

}  // namespace tern
