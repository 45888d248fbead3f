// tern's thread pool (kernels/thread_pool.cpp): every task runs once, errors
// come back, nested loops run serially (also across pools), changing the thread
// count back and forth (which once lost a wake-up and hung) keeps working, and
// a bound pool serves Halide's loops on its thread only.
#include "kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace tern {
namespace {

struct Counts {
    std::vector<std::atomic<int>>* hits;
    int fail_at = -1;
    bool nest = false;
    ThreadPool* inner_pool = nullptr;  // where the nested loop runs
};

int count_task(void*, int i, uint8_t* closure) {
    Counts& c = *reinterpret_cast<Counts*>(closure);
    (*c.hits)[i]++;
    if (c.nest) {  // a loop inside a loop: runs serially on this thread
        Counts inner{c.hits, -1, false};
        if (c.inner_pool->run(nullptr, count_task, 1000, 4, reinterpret_cast<uint8_t*>(&inner)))
            return 99;
    }
    return i == c.fail_at ? 7 : 0;
}

TEST(ThreadPool, EveryTaskOnceAtEachThreadCount) {
    ThreadPool pool;
    for (int round = 0; round < 50; ++round)
        for (int threads : {2, 1, 2, 3}) {
            pool.set_threads(threads);
            EXPECT_EQ(pool.threads(), threads);
            std::vector<std::atomic<int>> hits(1000);
            Counts c{&hits};
            ASSERT_EQ(pool.run(nullptr, count_task, 3, 500, reinterpret_cast<uint8_t*>(&c)), 0);
            for (int i = 0; i < 1000; ++i)
                ASSERT_EQ(hits[i].load(), i >= 3 && i < 503 ? 1 : 0) << "task " << i;
        }
}

TEST(ThreadPool, ErrorIsReturned) {
    ThreadPool pool(2);
    std::vector<std::atomic<int>> hits(100);
    Counts c{&hits, 40};
    EXPECT_EQ(pool.run(nullptr, count_task, 0, 100, reinterpret_cast<uint8_t*>(&c)), 7);
}

TEST(ThreadPool, NestedLoopsRunSerially) {
    ThreadPool a(2), b(2);
    for (ThreadPool* inner : {&a, &b}) {  // the same pool, and another one
        std::vector<std::atomic<int>> hits(1004);
        Counts c{&hits, -1, true, inner};
        EXPECT_EQ(a.run(nullptr, count_task, 0, 8, reinterpret_cast<uint8_t*>(&c)), 0);
        for (int i = 0; i < 8; ++i) EXPECT_EQ(hits[i].load(), 1);
        for (int i = 1000; i < 1004; ++i) EXPECT_EQ(hits[i].load(), 8);
    }
}

// Each task records the thread it ran on.
int record_thread(void*, int i, uint8_t* closure) {
    reinterpret_cast<std::vector<std::thread::id>*>(closure)->at(i) = std::this_thread::get_id();
    return 0;
}

TEST(ThreadPool, BoundPoolServesOnlyItsThread) {
    ThreadPool one(1);  // a pool of one thread runs every task on the caller
    std::vector<std::thread::id> ran(64);
    {
        ThreadPool* previous = bind_pool(&one);
        EXPECT_EQ(&current_pool(), &one);
        pool_do_par_for(nullptr, record_thread, 0, 64, reinterpret_cast<uint8_t*>(&ran));
        std::thread other([] { EXPECT_EQ(&current_pool(), &default_pool()); });
        other.join();
        bind_pool(previous);
    }
    for (const std::thread::id& id : ran) EXPECT_EQ(id, std::this_thread::get_id());
    EXPECT_EQ(&current_pool(), &default_pool());
}

}  // namespace
}  // namespace tern
