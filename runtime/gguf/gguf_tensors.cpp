// Block layouts (ggml-common.h; QK_K = 256):
//   TQ2_0  qs[64], f16 d. Within each 128-value half, value n * 32 + m sits in
//          bits 2n..2n+1 of byte m; the code is weight + 1.
//   TQ1_0  qs[48], qh[4], f16 d. Base-3 fixed point: a byte holds 5 (qs) or 4 (qh)
//          trits, the digit for position n read as ((byte * 3^n) mod 256) * 3 >> 8.
//          qs[0..31] hold values n * 32 + m (n < 5), qs[32..47] values
//          160 + n * 16 + m, qh[j] values 240 + n * 4 + j (n < 4).
//   I2_S   bitnet.cpp's x86 layout: blocks of 128 consecutive values of the
//          flattened tensor in 32 bytes, value j at bits 6 - 2 * (j / 32) of
//          byte j % 32 (codes 0, 1, 2 for -1, 0, +1), then one float scale in a
//          32-byte record after the last block.
#include "tern/gguf_tensors.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "gguf/type_codecs.h"
#include "tern/error.h"

namespace tern::gguf {
namespace {

uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

std::string number(float v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

[[noreturn]] void bad_code(const File& f, const TensorInfo& t, int row, int col, int code) {
    throw Error(f.path() + ": tensor '" + t.name + "' (" + tensor_type_name(t.type) + ") row " +
                std::to_string(row) + ", column " + std::to_string(col) + " holds code " +
                std::to_string(code) + ", expected 0, 1 or 2 (a ternary weight)");
}

constexpr int kTq2Bytes = 66, kTq1Bytes = 54, kQK = 256;

// The one scale of a block-scaled ternary tensor.
float uniform_block_scale(const File& f, const TensorInfo& t, int block_bytes, int scale_at) {
    const uint64_t blocks = t.elements() / kQK;
    const uint16_t first = load_u16(t.data + scale_at);
    for (uint64_t b = 1; b < blocks; ++b) {
        const uint16_t d = load_u16(t.data + b * block_bytes + scale_at);
        if (d != first)
            throw Error(f.path() + ": tensor '" + t.name + "' has block scale " +
                        number(f16_to_f32(d)) + " at block " + std::to_string(b) + " but " +
                        number(f16_to_f32(first)) +
                        " at block 0; tern needs one scale per ternary tensor (BitNet b1.58)");
    }
    return f16_to_f32(first);
}

void decode_tq2_row(const File& f, const TensorInfo& t, int row, int8_t* out) {
    const int k = static_cast<int>(t.dims[0]);
    const uint8_t* blocks = t.data + static_cast<uint64_t>(row) * (k / kQK) * kTq2Bytes;
    for (int b = 0; b < k / kQK; ++b) {
        const uint8_t* qs = blocks + b * kTq2Bytes;
        for (int half = 0; half < 2; ++half)
            for (int n = 0; n < 4; ++n)
                for (int m = 0; m < 32; ++m) {
                    const int code = (qs[half * 32 + m] >> (2 * n)) & 3;
                    const int col = b * kQK + half * 128 + n * 32 + m;
                    if (code == 3) bad_code(f, t, row, col, code);
                    out[col] = static_cast<int8_t>(code - 1);
                }
    }
}

int trit(uint8_t byte, int n) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const uint8_t q = static_cast<uint8_t>(byte * pow3[n]);
    return (q * 3) >> 8;
}

void decode_tq1_row(const TensorInfo& t, int row, int8_t* out) {
    const int k = static_cast<int>(t.dims[0]);
    const uint8_t* blocks = t.data + static_cast<uint64_t>(row) * (k / kQK) * kTq1Bytes;
    for (int b = 0; b < k / kQK; ++b) {
        const uint8_t* qs = blocks + b * kTq1Bytes;
        const uint8_t* qh = qs + 48;
        int8_t* o = out + b * kQK;
        for (int n = 0; n < 5; ++n)
            for (int m = 0; m < 32; ++m) o[n * 32 + m] = static_cast<int8_t>(trit(qs[m], n) - 1);
        for (int n = 0; n < 5; ++n)
            for (int m = 0; m < 16; ++m)
                o[160 + n * 16 + m] = static_cast<int8_t>(trit(qs[32 + m], n) - 1);
        for (int n = 0; n < 4; ++n)
            for (int j = 0; j < 4; ++j)
                o[240 + n * 4 + j] = static_cast<int8_t>(trit(qh[j], n) - 1);
    }
}

void decode_i2s_row(const File& f, const TensorInfo& t, int row, int8_t* out) {
    const int k = static_cast<int>(t.dims[0]);
    const uint64_t first = static_cast<uint64_t>(row) * k;  // flattened index of the row
    for (int col = 0; col < k; ++col) {
        const uint64_t i = first + col;
        const uint8_t* block = t.data + (i / 128) * 32;
        const int j = static_cast<int>(i % 128);
        const int code = (block[j % 32] >> (6 - 2 * (j / 32))) & 3;
        if (code == 3) bad_code(f, t, row, col, code);
        out[col] = static_cast<int8_t>(code - 1);
    }
}

// A ternary matrix stored as float values (F32, F16, BF16, as converters write
// them before quantising): every value must be 0 or +-scale, the magnitude of
// the first non-zero value.
float float_ternary_scale(const TensorInfo& t) {
    const uint64_t k = t.dims[0];
    std::vector<float> row(k);
    for (uint64_t r = 0; r < t.rows(); ++r) {
        decode_values(t.type, t.data + r * (t.bytes / t.rows()), k, row.data());
        for (float v : row)
            if (v != 0) return std::fabs(v);
    }
    return 0;
}

void decode_float_ternary_row(const File& f, const TensorInfo& t, float scale, int row,
                              int8_t* out) {
    const uint64_t k = t.dims[0];
    std::vector<float> values(k);
    decode_values(t.type, t.data + row * (t.bytes / t.rows()), k, values.data());
    for (uint64_t c = 0; c < k; ++c) {
        const float v = values[c];
        if (v != 0 && std::fabs(v) != scale)
            throw Error(f.path() + ": tensor '" + t.name + "' (" + tensor_type_name(t.type) +
                        ") row " + std::to_string(row) + ", column " + std::to_string(c) +
                        " holds " + number(v) + ", expected 0 or +-" + number(scale) +
                        " (the tensor's first non-zero magnitude): not a ternary matrix");
        out[c] = static_cast<int8_t>(v > 0 ? 1 : v < 0 ? -1 : 0);
    }
}

}  // namespace

bool is_ternary_storage(TensorType t) {
    const TypeTraits* row = find_type(static_cast<uint32_t>(t));
    return row && row->read_ternary;
}

float f16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: renormalise
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while ((mant & 0x400) == 0);
            bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | mant << 13;
    } else {
        bits = sign | (exp + 112) << 23 | mant << 13;
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32_to_f16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
    const uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u) return sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0);  // inf, nan
    if (abs >= 0x477ff000u) return sign | 0x7c00;  // rounds past the largest half: inf
    if (abs < 0x38800000u) {                       // subnormal or zero in half
        if (abs < 0x33000000u) return sign;        // below half of the smallest subnormal
        const uint32_t mant = (abs & 0x7fffff) | 0x800000;
        const int shift = 126 - static_cast<int>(abs >> 23);  // 14..24
        uint32_t v = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (v & 1))) ++v;
        return sign | static_cast<uint16_t>(v);
    }
    uint32_t v = ((abs >> 13) - (112u << 10));
    const uint32_t rem = abs & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (v & 1))) ++v;
    return sign | static_cast<uint16_t>(v);
}

TernaryTensor ternary_tensor(const File& f, const TensorInfo& t) {
    if (!is_ternary_storage(t.type))
        throw Error(f.path() + ": tensor '" + t.name + "' is " + tensor_type_name(t.type) +
                    ", expected a ternary type (" +
                    type_names([](const TypeTraits& r) { return r.ternary; }) +
                    ") or ternary values in " +
                    type_names([](const TypeTraits& r) { return !r.ternary && r.read_ternary; }) +
                    "; tern runs ternary (1.58-bit) models only");
    if (t.dims.size() != 2)
        throw Error(f.path() + ": tensor '" + t.name + "' has " + std::to_string(t.dims.size()) +
                    " dimensions, expected a 2-D weight matrix");
    TernaryTensor out;
    out.k = static_cast<int>(t.dims[0]);
    out.n = static_cast<int>(t.dims[1]);
    traits(t.type).read_ternary(f, t, out);
    // An optional per-tensor scale beside the weights, as llama.cpp reads it:
    // "blk.0.attn_q.scale" for "blk.0.attn_q.weight".
    const std::string suffix = ".weight";
    if (t.name.size() > suffix.size() &&
        t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        const std::string scale_name = t.name.substr(0, t.name.size() - suffix.size()) + ".scale";
        if (const TensorInfo* s = f.find_tensor(scale_name)) {
            if (s->type != TensorType::f32 || s->elements() != 1)
                throw Error(f.path() + ": tensor '" + scale_name + "' must be one F32 value");
            float v;
            std::memcpy(&v, s->data, 4);
            out.scale *= v;
        }
    }
    if (!std::isfinite(out.scale))
        throw Error(f.path() + ": tensor '" + t.name + "' has scale " + number(out.scale) +
                    ", expected a finite number");
    return out;
}

uint64_t ternary_row_bytes(TensorType type, int k) {
    return static_cast<uint64_t>(k) / block_values(type) * block_bytes(type);
}

void encode_ternary_row(TensorType type, const int8_t* w, int k, float scale, uint8_t* out) {
    const TypeTraits& t = traits(type);
    if (!t.encode_ternary)
        throw Error(std::string("encode_ternary_row: ") + t.name + " is not a ternary type");
    t.encode_ternary(w, k, scale, out);
}

namespace codec {

void encode_tq2_0(const int8_t* w, int k, float scale, uint8_t* out) {
    const uint16_t d = f32_to_f16(scale);
    auto code = [&](int i) { return static_cast<uint8_t>(w[i] + 1); };
    for (int b = 0; b < k / kQK; ++b) {
        uint8_t* qs = out + b * kTq2Bytes;
        std::memset(qs, 0, 64);
        for (int i = 0; i < kQK; ++i) {
            const int half = i / 128, n = (i % 128) / 32, m = i % 32;
            qs[half * 32 + m] |= static_cast<uint8_t>(code(b * kQK + i) << (2 * n));
        }
        std::memcpy(qs + 64, &d, 2);
    }
}

void encode_tq1_0(const int8_t* w, int k, float scale, uint8_t* out) {
    const uint16_t d = f32_to_f16(scale);
    auto code = [&](int i) { return static_cast<uint8_t>(w[i] + 1); };
    for (int b = 0; b < k / kQK; ++b) {
        uint8_t* qs = out + b * kTq1Bytes;
        const int o = b * kQK;
        // Digits most significant first; stored as ceil(v * 256 / 243).
        auto pack = [](int v, int digits) {
            for (int i = digits; i < 5; ++i) v *= 3;
            return static_cast<uint8_t>((v * 256 + 242) / 243);
        };
        for (int m = 0; m < 32; ++m) {
            int v = 0;
            for (int n = 0; n < 5; ++n) v = v * 3 + code(o + n * 32 + m);
            qs[m] = pack(v, 5);
        }
        for (int m = 0; m < 16; ++m) {
            int v = 0;
            for (int n = 0; n < 5; ++n) v = v * 3 + code(o + 160 + n * 16 + m);
            qs[32 + m] = pack(v, 5);
        }
        for (int j = 0; j < 4; ++j) {
            int v = 0;
            for (int n = 0; n < 4; ++n) v = v * 3 + code(o + 240 + n * 4 + j);
            qs[48 + j] = pack(v, 4);
        }
        std::memcpy(qs + 52, &d, 2);
    }
}

// I2_S rows hold codes only: the scale is the tensor's trailing record.
void encode_i2_s(const int8_t* w, int k, float, uint8_t* out) {
    auto code = [&](int i) { return static_cast<uint8_t>(w[i] + 1); };
    for (int b = 0; b < k / 128; ++b) {
        uint8_t* q = out + b * 32;
        std::memset(q, 0, 32);
        for (int j = 0; j < 128; ++j)
            q[j % 32] |= static_cast<uint8_t>(code(b * 128 + j) << (6 - 2 * (j / 32)));
    }
}

void read_tq2_0(const File& f, const TensorInfo& t, TernaryTensor& out) {
    out.scale = uniform_block_scale(f, t, kTq2Bytes, 64);
    const File* file = &f;
    const TensorInfo* info = &t;
    out.rows = [file, info](int row, int8_t* dst) { decode_tq2_row(*file, *info, row, dst); };
}

void read_tq1_0(const File& f, const TensorInfo& t, TernaryTensor& out) {
    out.scale = uniform_block_scale(f, t, kTq1Bytes, 52);
    const TensorInfo* info = &t;
    out.rows = [info](int row, int8_t* dst) { decode_tq1_row(*info, row, dst); };
}

void read_i2_s(const File& f, const TensorInfo& t, TernaryTensor& out) {
    std::memcpy(&out.scale, t.data + t.elements() / 4, 4);  // the trailing record
    const File* file = &f;
    const TensorInfo* info = &t;
    out.rows = [file, info](int row, int8_t* dst) { decode_i2s_row(*file, *info, row, dst); };
}

void read_float_ternary(const File& f, const TensorInfo& t, TernaryTensor& out) {
    const float scale = float_ternary_scale(t);
    out.scale = scale;
    const File* file = &f;
    const TensorInfo* info = &t;
    out.rows = [file, info, scale](int row, int8_t* dst) {
        decode_float_ternary_row(*file, *info, scale, row, dst);
    };
}

}  // namespace codec

void encode_i2s_scale(float scale, uint8_t* out32) {
    std::memset(out32, 0, 32);
    std::memcpy(out32, &scale, 4);
}

}  // namespace tern::gguf
