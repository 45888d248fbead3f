// Kernel overrides on a loaded model, for tern-tune --in-model (internal to
// tern; not part of the public API): run one weight shape, or the int8 LM
// head, on a candidate kernel inside real decode steps.
#pragma once

#include "tern/kernels.h"
#include "tern/model.h"

namespace tern {

struct KernelOverrides {
    // Runs the k x n ternary weights of every layer with `gemv` for single rows
    // from now on. Weights the kernel cannot read as packed are repacked into
    // its layout first; rows of several tokens then run on `gemv` too unless the
    // bundle has a GEMM kernel for that layout. Throws if no weights have that
    // shape or `gemv` is not a ternary kernel. `gemv` must outlive its use.
    static void use_gemv(Model& model, int k, int n, const KernelInfo& gemv);

    // Reads the int8 LM head with `kernel` from now on: an int8_gemv kernel of
    // the head's layout (same lanes and dot). Throws if the head is not int8 or
    // the layout differs. `kernel` must outlive its use.
    static void use_head_gemv(Model& model, const KernelInfo& kernel);
};

}  // namespace tern
