// The threads every parallel loop of the runtime runs on: Halide's generated
// kernels (installed as Halide's do_par_for) and the model's own loops.
//
// Why not Halide's pool: its idle workers sleep on a condition variable, and a
// decode step makes a few hundred short parallel calls; waking a sleeping
// thread costs tens of microseconds on a virtual machine, per call. These
// workers spin for a while between calls (kSpinMicros) before they sleep.
#pragma once

#include <HalideRuntime.h>

namespace tern {

// Threads used from now on, the caller included (0: every core). Replaces
// the workers when the count changes.
void pool_set_threads(int threads);

// Runs task(user_context, i, closure) for i in [min, min + size) over the pool
// and returns the first non-zero result (Halide's do_par_for contract). Calls
// from inside a running loop (nesting) or from a second thread while a loop
// runs are run serially on the calling thread.
int pool_do_par_for(void* user_context, halide_task_t task, int min, int size, uint8_t* closure);

// Makes Halide's generated code use the pool (idempotent; cheap after the
// first call).
void pool_install();

}  // namespace tern
