// See tern/backend.h.
#include "tern/backend.h"

#include "kernels/thread_pool.h"
#include "kernels/vector_loops.h"

namespace tern {
namespace {

struct Job {
    void (*task)(const void*, int);
    const void* body;
};

int run_task(void*, int i, uint8_t* closure) {
    const Job& job = *reinterpret_cast<const Job*>(closure);
    job.task(job.body, i);
    return 0;
}

}  // namespace

std::shared_ptr<Backend> Backend::create(const std::string& target, int threads) {
    const KernelSet& b = target.empty() ? default_bundle() : runnable_bundle(target);
    pool_install();
    return std::shared_ptr<Backend>(new Backend(b, threads));
}

Backend::Backend(const KernelSet& bundle, int threads)
    : bundle_(&bundle),
      vector_loops_(
          &vector_loops_for({bundle.manifest().cpu_features,
                             bundle.manifest().cpu_features + bundle.manifest().num_cpu_features})),
      pool_(std::make_unique<ThreadPool>(threads)) {}
Backend::~Backend() = default;

const char* Backend::vector_isa() const { return vector_loops_->name; }

int Backend::threads() const { return pool_->threads(); }
void Backend::set_threads(int threads) { pool_->set_threads(threads); }

void Backend::run(int n, void (*task)(const void*, int), const void* body) const {
    Job job{task, body};
    pool_->run(nullptr, run_task, 0, n, reinterpret_cast<uint8_t*>(&job));
}

Backend::Scope::Scope(const Backend& backend) : previous_(bind_pool(backend.pool_.get())) {}

Backend::Scope::~Scope() { bind_pool(previous_); }

}  // namespace tern
