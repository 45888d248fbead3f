#include "kernels/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace tern {
namespace {

// Long enough to cover the gaps between the kernels of a decode step (a few
// microseconds of norms, RoPE and residuals), short enough that an idle
// process stops burning CPU almost at once.
constexpr int kSpinMicros = 2000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

thread_local bool in_loop = false;
thread_local ThreadPool* bound = nullptr;

int every_core() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

}  // namespace

struct ThreadPool::State {
    explicit State(int threads) : wanted_(threads > 0 ? threads : every_core()) {}
    ~State() { stop_workers(); }

    void set_threads(int threads) {
        if (threads <= 0) threads = every_core();
        std::lock_guard<std::mutex> lock(run_mu_);
        wanted_ = threads;
        if (threads_ == 0 || threads == threads_) return;
        stop_workers();
        start_workers(threads);
    }

    int threads() const { return wanted_.load(); }

    int run(void* uc, halide_task_t task, int min, int size, uint8_t* closure) {
        std::unique_lock<std::mutex> lock(run_mu_, std::try_to_lock);
        if (in_loop || !lock.owns_lock() || size <= 1) return serial(uc, task, min, size, closure);
        ensure_started();
        if (workers_.empty()) return serial(uc, task, min, size, closure);
        uc_ = uc, task_ = task, closure_ = closure, end_ = min + size;
        next_.store(min);
        result_.store(0);
        pending_.store(static_cast<int>(workers_.size()));
        generation_.fetch_add(1);  // publishes the loop (seq_cst, see work())
        if (sleepers_.load() > 0) {
            std::lock_guard<std::mutex> wake(sleep_mu_);
            wake_.notify_all();
        }
        take_tasks();
        while (pending_.load(std::memory_order_acquire) > 0) cpu_relax();
        return result_.load();
    }

private:
    static int serial(void* uc, halide_task_t task, int min, int size, uint8_t* closure) {
        for (int i = min; i < min + size; ++i)
            if (int r = task(uc, i, closure)) return r;
        return 0;
    }

    void ensure_started() {
        if (threads_ == 0) start_workers(wanted_.load());
    }

    // With run_mu_ held, so no loop is published meanwhile: each worker starts
    // from the current generation, read here rather than on its own thread,
    // where a loop published before it ran would be taken as already seen.
    void start_workers(int threads) {
        threads_ = threads;
        stop_ = false;
        const uint64_t seen = generation_.load();
        for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, seen] { work(seen); });
    }

    void take_tasks() {
        in_loop = true;
        for (int i; (i = next_.fetch_add(1)) < end_;) {
            if (const int r = task_(uc_, i, closure_)) {
                int zero = 0;
                result_.compare_exchange_strong(zero, r);
                next_.store(end_);  // skip the rest, as Halide's pool does on error
            }
        }
        in_loop = false;
    }

    void work(uint64_t seen) {
        for (;;) {
            // Spin, then sleep, until a new loop (or stop) is published.
            const auto start = std::chrono::steady_clock::now();
            for (int n = 0; generation_.load() == seen && !stop_.load(); ++n) {
                cpu_relax();
                if ((n & 255) == 255 && std::chrono::steady_clock::now() - start >
                                            std::chrono::microseconds(kSpinMicros)) {
                    std::unique_lock<std::mutex> lock(sleep_mu_);
                    sleepers_.fetch_add(1);  // seq_cst: pairs with run()'s publish
                    wake_.wait(lock, [&] { return generation_.load() != seen || stop_.load(); });
                    sleepers_.fetch_sub(1);
                }
            }
            if (stop_.load()) return;
            seen = generation_.load();
            take_tasks();
            pending_.fetch_sub(1, std::memory_order_release);
        }
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> lock(sleep_mu_);
            stop_ = true;
            wake_.notify_all();
        }
        for (std::thread& t : workers_) t.join();
        workers_.clear();
        threads_ = 0;
    }

    std::mutex run_mu_;        // one loop at a time; held while it runs
    std::atomic<int> wanted_;  // the count set
    int threads_ = 0;          // the count running; 0: not started yet
    std::vector<std::thread> workers_;

    // The loop being run.
    void* uc_ = nullptr;
    halide_task_t task_ = nullptr;
    uint8_t* closure_ = nullptr;
    int end_ = 0;
    std::atomic<int> next_{0}, result_{0}, pending_{0};

    std::atomic<uint64_t> generation_{0};
    std::atomic<int> sleepers_{0};
    std::atomic<bool> stop_{false};
    std::mutex sleep_mu_;
    std::condition_variable wake_;
};

ThreadPool::ThreadPool(int threads) : state_(std::make_unique<State>(threads)) {}
ThreadPool::~ThreadPool() = default;
void ThreadPool::set_threads(int threads) { state_->set_threads(threads); }
int ThreadPool::threads() const { return state_->threads(); }
int ThreadPool::run(void* uc, halide_task_t task, int min, int size, uint8_t* closure) {
    return state_->run(uc, task, min, size, closure);
}

ThreadPool* bind_pool(ThreadPool* pool) {
    ThreadPool* previous = bound;
    bound = pool;
    return previous;
}

ThreadPool& default_pool() {
    static ThreadPool pool;
    return pool;
}

ThreadPool& current_pool() { return bound ? *bound : default_pool(); }

int pool_do_par_for(void* user_context, halide_task_t task, int min, int size, uint8_t* closure) {
    return current_pool().run(user_context, task, min, size, closure);
}

void pool_install() {
    static const bool installed = [] {
        halide_set_custom_do_par_for(pool_do_par_for);
        return true;
    }();
    (void)installed;
}

}  // namespace tern
