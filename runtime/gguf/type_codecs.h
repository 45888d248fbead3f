// The codecs of each tensor type, which gguf_types.cpp's table points to
// (internal to the GGUF reader): float and block-quantised types in
// gguf_block_types.cpp, ternary ones in gguf_tensors.cpp.
#pragma once

#include <cstdint>

#include "tern/gguf_tensors.h"

namespace tern::gguf::codec {

// k values of a row (k a multiple of the type's block) to floats, and back.
void decode_f32(const uint8_t* p, uint64_t k, float* out);
void decode_f16(const uint8_t* p, uint64_t k, float* out);
void decode_bf16(const uint8_t* p, uint64_t k, float* out);
void decode_q8_0(const uint8_t* p, uint64_t k, float* out);
void decode_q4_0(const uint8_t* p, uint64_t k, float* out);
void decode_q4_k(const uint8_t* p, uint64_t k, float* out);
void decode_q5_k(const uint8_t* p, uint64_t k, float* out);
void decode_q6_k(const uint8_t* p, uint64_t k, float* out);
void encode_f32(const float* x, uint64_t k, uint8_t* out);
void encode_f16(const float* x, uint64_t k, uint8_t* out);
void encode_bf16(const float* x, uint64_t k, uint8_t* out);
void encode_q8_0(const float* x, uint64_t k, uint8_t* out);
void encode_q4_0(const float* x, uint64_t k, uint8_t* out);
void encode_q4_k(const float* x, uint64_t k, uint8_t* out);
void encode_q5_k(const float* x, uint64_t k, uint8_t* out);
void encode_q6_k(const float* x, uint64_t k, uint8_t* out);

// A ternary matrix's scale and row decoder (TypeTraits::read_ternary).
void read_tq1_0(const File& f, const TensorInfo& t, TernaryTensor& out);
void read_tq2_0(const File& f, const TensorInfo& t, TernaryTensor& out);
void read_i2_s(const File& f, const TensorInfo& t, TernaryTensor& out);
void read_float_ternary(const File& f, const TensorInfo& t, TernaryTensor& out);
// One row of k ternary values with the tensor's scale (TypeTraits::encode_ternary).
void encode_tq1_0(const int8_t* w, int k, float scale, uint8_t* out);
void encode_tq2_0(const int8_t* w, int k, float scale, uint8_t* out);
void encode_i2_s(const int8_t* w, int k, float scale, uint8_t* out);

}  // namespace tern::gguf::codec
