// The LM head at file precision when the embedding is F16: one dot product of
// each F16 row with a float vector (internal to the runtime).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern {

// y[r] = sum_i half(rows[r * k + i]) * x[i] for r < n. Uses F16C conversion
// with AVX-512 or AVX2 where the CPU has them (picked once), else exact scalar
// conversion.
void f16_gemv(const uint16_t* rows, size_t n, int k, const float* x, float* y);

}  // namespace tern
