// Decoding GGUF tensors: ternary types (TQ1_0, TQ2_0, I2_S) into the canonical
// rows the packers consume, float types (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K,
// Q6_K) into float rows, bit-identical to ggml's reference dequantisation.
#pragma once

#include <cstdint>

#include "tern/gguf.h"
#include "tern/ternary.h"

namespace tern::gguf {

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);  // round to nearest even
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);  // round to nearest even, as ggml

// A ternary tensor as an N x K matrix (K = dims[0], the input dimension; N the
// rows): one scale for the whole tensor and a row decoder for pack(). TQ1_0
// and TQ2_0 store a scale per 256-value block; BitNet b1.58 has one per
// tensor, so all blocks must agree (else an error names the tensor and the
// first block that differs); an optional "<name>.scale" tensor (one F32, for
// "<name>.weight") multiplies in. Codes outside the ternary range are an error
// naming the tensor, row and column. The decoder reads the mapping directly
// and must not outlive the File.
struct TernaryTensor {
    int k = 0;
    int n = 0;
    float scale = 0;
    RowSource rows;
};
// F32, F16 and BF16 tensors are read as ternary matrices too (converters write
// BitNet weights so before quantising): every value must be 0 or +-s for one s,
// the tensor's scale; otherwise the row decoder's error names the tensor, row,
// column and value.
TernaryTensor ternary_tensor(const File& file, const TensorInfo& t);
// Types ternary_tensor reads: the ternary ones, F32, F16 and BF16.
bool is_ternary_storage(TensorType t);

// Encodes one row of k ternary values (k a multiple of block_values(type)) with
// the tensor's scale: TQ1_0 and TQ2_0 store it in every block; I2_S rows hold
// codes only and the tensor ends with encode_i2s_scale's 32-byte record.
uint64_t ternary_row_bytes(TensorType type, int k);
void encode_ternary_row(TensorType type, const int8_t* w, int k, float scale, uint8_t* out);
void encode_i2s_scale(float scale, uint8_t* out32);
// k values of a float type (is_float; k a multiple of the type's block) stored
// at `bytes`, as floats exactly as ggml's dequantize_row_* gives them.
void decode_values(TensorType type, const uint8_t* bytes, uint64_t k, float* out);
// tern's own encoder of k floats into a float type (k a multiple of the block):
// simple absmax / min-max rounding, valid blocks for gen-model, not ggml's
// search for the best scales.
void encode_values(TensorType type, const float* x, uint64_t k, uint8_t* out);

// Row `row` (dims[0] values) of a float-type tensor as floats.
void decode_row(const File& file, const TensorInfo& t, uint64_t row, float* out);

}  // namespace tern::gguf
