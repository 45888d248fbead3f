// tern's thread pool (runtime/thread_pool.cpp): every task runs once, errors
// come back, nested loops run serially, and changing the thread count back and
// forth (which once lost a wake-up and hung) keeps working.
#include "kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace tern {
namespace {

struct Counts {
    std::vector<std::atomic<int>>* hits;
    int fail_at = -1;
    bool nest = false;
};

int count_task(void*, int i, uint8_t* closure) {
    Counts& c = *reinterpret_cast<Counts*>(closure);
    (*c.hits)[i]++;
    if (c.nest) {  // a loop inside a loop: runs serially on this thread
        Counts inner{c.hits, -1, false};
        if (pool_do_par_for(nullptr, count_task, 1000, 4, reinterpret_cast<uint8_t*>(&inner)))
            return 99;
    }
    return i == c.fail_at ? 7 : 0;
}

TEST(ThreadPool, EveryTaskOnceAtEachThreadCount) {
    for (int round = 0; round < 50; ++round)
        for (int threads : {2, 1, 2, 3}) {
            pool_set_threads(threads);
            std::vector<std::atomic<int>> hits(1000);
            Counts c{&hits};
            ASSERT_EQ(pool_do_par_for(nullptr, count_task, 3, 500, reinterpret_cast<uint8_t*>(&c)),
                      0);
            for (int i = 0; i < 1000; ++i)
                ASSERT_EQ(hits[i].load(), i >= 3 && i < 503 ? 1 : 0) << "task " << i;
        }
    pool_set_threads(0);
}

TEST(ThreadPool, ErrorIsReturned) {
    pool_set_threads(2);
    std::vector<std::atomic<int>> hits(100);
    Counts c{&hits, 40};
    EXPECT_EQ(pool_do_par_for(nullptr, count_task, 0, 100, reinterpret_cast<uint8_t*>(&c)), 7);
    pool_set_threads(0);
}

TEST(ThreadPool, NestedLoopsRunSerially) {
    pool_set_threads(2);
    std::vector<std::atomic<int>> hits(1004);
    Counts c{&hits, -1, true};
    EXPECT_EQ(pool_do_par_for(nullptr, count_task, 0, 8, reinterpret_cast<uint8_t*>(&c)), 0);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(hits[i].load(), 1);
    for (int i = 1000; i < 1004; ++i) EXPECT_EQ(hits[i].load(), 8);
    pool_set_threads(0);
}

}  // namespace
}  // namespace tern
