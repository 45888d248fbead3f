// Runs body(i) for i in [0, n) on the kernels' thread pool (internal to the
// runtime's model files).
#pragma once

#include <cstdint>

#include "kernels/thread_pool.h"

namespace tern {

template <typename Body>
void parallel_for(int n, const Body& body) {
    struct Closure {
        const Body* body;
    } c{&body};
    auto task = [](void*, int i, uint8_t* closure) -> int {
        (*reinterpret_cast<Closure*>(closure)->body)(i);
        return 0;
    };
    pool_do_par_for(nullptr, task, 0, n, reinterpret_cast<uint8_t*>(&c));
}

}  // namespace tern
