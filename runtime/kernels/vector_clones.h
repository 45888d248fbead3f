// The runtime is built for baseline x86-64; its few float loops that matter
// (attention, activation, the file-precision LM head) are also compiled for
// AVX2 and AVX-512 and picked at load time by the CPU (GCC function
// multiversioning).
#pragma once

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define TERN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TERN_VECTOR_CLONES
#endif

// For helpers of a TERN_VECTOR_CLONES function: GCC does not inline them into
// each clone on its own, and a helper left out of line is baseline code.
#if defined(__GNUC__)
#define TERN_CLONE_INLINE inline __attribute__((always_inline))
#else
#define TERN_CLONE_INLINE inline
#endif
