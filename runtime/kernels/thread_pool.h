// The threads parallel loops run on: Halide's generated kernels (through
// Halide's do_par_for, which tern replaces) and the model's own loops.
//
// Why not Halide's pool: its idle workers sleep on a condition variable, and a
// decode step makes a few hundred short parallel calls; waking a sleeping
// thread costs tens of microseconds on a virtual machine, per call. These
// workers spin for a while between calls (kSpinMicros) before they sleep.
//
// Each Backend owns a pool. A kernel learns which one to use from the calling
// thread: the pool bound there (bind_pool, what Backend::Scope does), or
// else the process's default pool, which the kernel API's set_num_threads sizes.
#pragma once

#include <HalideRuntime.h>

#include <memory>

namespace tern {

class ThreadPool {
public:
    // `threads` threads, the caller included (0: every core); workers start at
    // the first loop.
    explicit ThreadPool(int threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    // Threads used from now on (0: every core). Replaces the workers when the
    // count changes.
    void set_threads(int threads);
    int threads() const;

    // Runs task(user_context, i, closure) for i in [min, min + size) and returns
    // the first non-zero result (Halide's do_par_for contract). Calls from
    // inside a running loop of any pool (nesting) or from a second thread while
    // a loop runs are run serially on the calling thread.
    int run(void* user_context, halide_task_t task, int min, int size, uint8_t* closure);

private:
    struct State;
    std::unique_ptr<State> state_;
};

// Binds `pool` to the calling thread (nullptr: none, the default pool then
// serves it) and returns the previous binding.
ThreadPool* bind_pool(ThreadPool* pool);
// The pool bound to the calling thread, else the default pool.
ThreadPool& current_pool();
ThreadPool& default_pool();

// Halide's do_par_for replacement: runs on current_pool().
int pool_do_par_for(void* user_context, halide_task_t task, int min, int size, uint8_t* closure);

// Makes Halide's generated code use pool_do_par_for (idempotent; cheap after
// the first call).
void pool_install();

}  // namespace tern
