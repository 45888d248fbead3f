// The float and block-quantised types of embeddings and LM heads, decoded as
// ggml's reference code defines each block (ggml-common.h, ggml-quants.c; the
// float operations in the same order, so that the values are bit-identical), and
// tern's own simple encoders for gen-model. Block layouts (QK_K = 256):
//   BF16  the top 16 bits of an IEEE float.
//   Q8_0  f16 d, int8 qs[32]: d * q.
//   Q4_0  f16 d, u8 qs[16]: value j is the low nibble of qs[j], value j + 16 the
//         high one; d * (nibble - 8).
//   Q4_K  f16 d, f16 dmin, u8 scales[12], u8 qs[128]. Eight sub-blocks of 32 with a
//         6-bit scale and 6-bit min each (packed: sub-block j < 4 in the low 6 bits
//         of bytes j and j + 4; j >= 4 in the nibbles of byte j + 4 and the top two
//         bits of bytes j - 4 and j). Per 64 values, qs' 32 bytes hold the first 32
//         in low nibbles and the next 32 in high nibbles: d*sc * q - dmin*m.
//   Q5_K  Q4_K plus u8 qh[32] before qs: bit 2c (2c + 1) of qh[l] is the fifth bit
//         of value l of the first (second) 32 of chunk c.
//   Q6_K  u8 ql[128], u8 qh[64], int8 scales[16], f16 d. Per 128 values: ql's 64
//         bytes hold low nibbles (values l and l + 64 in bytes l, values l + 32 and
//         l + 96 in bytes l + 32), qh's 32 bytes the top two bits (values l, +32,
//         +64, +96 in bits 0-1, 2-3, 4-5, 6-7 of byte l); sixteen-value sub-blocks
//         scaled by d * scales[j] * (q - 32).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf/type_codecs.h"
#include "tern/error.h"
#include "tern/gguf_tensors.h"

namespace tern::gguf {
namespace {

uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
void store_u16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
}
float half(const uint8_t* p) { return f16_to_f32(load_u16(p)); }

// The 6-bit scale and min of sub-block j of a Q4_K / Q5_K block.
void scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void pack_scale_min_k4(const uint8_t* sc, const uint8_t* m, uint8_t* q) {
    std::memset(q, 0, 12);
    for (int j = 0; j < 4; ++j) {
        q[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        q[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
        q[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
    }
}

void decode_q4_k(const uint8_t* b, float* y, bool five_bits) {
    const float d = half(b), min = half(b + 2);
    const uint8_t* scales = b + 4;
    const uint8_t* qh = b + 16;
    const uint8_t* q = five_bits ? b + 48 : b + 16;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0, is = 0; j < 256; j += 64, is += 2) {
        uint8_t sc, m;
        scale_min_k4(is, scales, &sc, &m);
        const float d1 = d * sc, m1 = min * m;
        scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * sc, m2 = min * m;
        for (int l = 0; l < 32; ++l)
            *y++ = d1 * ((q[l] & 0xF) + (five_bits && (qh[l] & u1) ? 16 : 0)) - m1;
        for (int l = 0; l < 32; ++l)
            *y++ = d2 * ((q[l] >> 4) + (five_bits && (qh[l] & u2) ? 16 : 0)) - m2;
        q += 32;
        u1 = static_cast<uint8_t>(u1 << 2);
        u2 = static_cast<uint8_t>(u2 << 2);
    }
}

void decode_q6_k(const uint8_t* b, float* y) {
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    const float d = half(b + 208);
    for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
        for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * sc[is] * q1;
            y[l + 32] = d * sc[is + 2] * q2;
            y[l + 64] = d * sc[is + 4] * q3;
            y[l + 96] = d * sc[is + 6] * q4;
        }
}

float absmax(const float* x, int n) {
    float m = 0;
    for (int i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
    return m;
}

int clamp_round(float v, int lo, int hi) {
    return std::min(hi, std::max(lo, static_cast<int>(std::lround(v))));
}

// A sub-block's affine quantisation to [0, levels]: value = scale * q - min.
void affine(const float* x, int n, int levels, float* scale, float* min) {
    float lo = 0, hi = 0;  // the range always holds 0, as ggml's encoders keep it
    for (int i = 0; i < n; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    *scale = (hi - lo) / levels;
    *min = -lo;
}

void encode_q4_k(const float* x, uint8_t* b, bool five_bits) {
    float scale[8], min[8], max_scale = 0, max_min = 0;
    const int levels = five_bits ? 31 : 15;
    for (int j = 0; j < 8; ++j) {
        affine(x + 32 * j, 32, levels, &scale[j], &min[j]);
        max_scale = std::max(max_scale, scale[j]);
        max_min = std::max(max_min, min[j]);
    }
    const uint16_t dh = f32_to_f16(max_scale / 63), mh = f32_to_f16(max_min / 63);
    const float d = f16_to_f32(dh), dmin = f16_to_f32(mh);
    uint8_t sc[8], m[8];
    for (int j = 0; j < 8; ++j) {
        sc[j] = static_cast<uint8_t>(d > 0 ? clamp_round(scale[j] / d, 0, 63) : 0);
        m[j] = static_cast<uint8_t>(dmin > 0 ? clamp_round(min[j] / dmin, 0, 63) : 0);
    }
    store_u16(b, dh);
    store_u16(b + 2, mh);
    pack_scale_min_k4(sc, m, b + 4);
    uint8_t* qh = b + 16;
    uint8_t* qs = five_bits ? b + 48 : b + 16;
    if (five_bits) std::memset(qh, 0, 32);
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
            int q[2];
            for (int h = 0; h < 2; ++h) {
                const int j = 2 * c + h;
                const float step = d * sc[j];
                const float v = x[64 * c + 32 * h + l] + dmin * m[j];
                q[h] = step > 0 ? clamp_round(v / step, 0, levels) : 0;
                if (five_bits && q[h] > 15) qh[l] |= static_cast<uint8_t>(1 << (2 * c + h));
            }
            qs[32 * c + l] = static_cast<uint8_t>((q[0] & 0xF) | ((q[1] & 0xF) << 4));
        }
}

void encode_q6_k(const float* x, uint8_t* b) {
    float scale[16], max_abs_scale = 0;
    for (int j = 0; j < 16; ++j) {
        float amax = 0;
        for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(x[16 * j + i]));
        scale[j] = amax / 31;
        max_abs_scale = std::max(max_abs_scale, scale[j]);
    }
    const uint16_t dh = f32_to_f16(max_abs_scale / 127);
    const float d = f16_to_f32(dh);
    auto* sc = reinterpret_cast<int8_t*>(b + 192);
    uint8_t q[256];
    for (int j = 0; j < 16; ++j) {
        sc[j] = static_cast<int8_t>(d > 0 ? clamp_round(scale[j] / d, -128, 127) : 0);
        const float step = d * sc[j];
        for (int i = 0; i < 16; ++i)
            q[16 * j + i] = static_cast<uint8_t>(
                (step > 0 ? clamp_round(x[16 * j + i] / step, -32, 31) : 0) + 32);
    }
    uint8_t* ql = b;
    uint8_t* qh = b + 128;
    for (int n = 0; n < 2; ++n)
        for (int l = 0; l < 32; ++l) {
            const uint8_t* v = q + 128 * n;
            ql[64 * n + l] = static_cast<uint8_t>((v[l] & 0xF) | ((v[l + 64] & 0xF) << 4));
            ql[64 * n + 32 + l] =
                static_cast<uint8_t>((v[l + 32] & 0xF) | ((v[l + 96] & 0xF) << 4));
            qh[32 * n + l] =
                static_cast<uint8_t>((v[l] >> 4) | ((v[l + 32] >> 4) << 2) |
                                     ((v[l + 64] >> 4) << 4) | ((v[l + 96] >> 4) << 6));
        }
    store_u16(b + 208, dh);
}

}  // namespace

float bf16_to_f32(uint16_t h) {
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32_to_bf16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 64);  // quiet NaN
    return static_cast<uint16_t>((x + 0x7fff + ((x >> 16) & 1)) >> 16);  // nearest even
}

namespace codec {

void decode_f32(const uint8_t* p, uint64_t k, float* out) { std::memcpy(out, p, k * 4); }

void decode_f16(const uint8_t* p, uint64_t k, float* out) {
    for (uint64_t i = 0; i < k; ++i) out[i] = f16_to_f32(load_u16(p + 2 * i));
}

void decode_bf16(const uint8_t* p, uint64_t k, float* out) {
    for (uint64_t i = 0; i < k; ++i) out[i] = bf16_to_f32(load_u16(p + 2 * i));
}

void decode_q8_0(const uint8_t* p, uint64_t k, float* out) {
    for (uint64_t b = 0; b < k / 32; ++b, p += 34) {
        const float d = half(p);
        for (int i = 0; i < 32; ++i) out[b * 32 + i] = static_cast<int8_t>(p[2 + i]) * d;
    }
}

void decode_q4_0(const uint8_t* p, uint64_t k, float* out) {
    for (uint64_t b = 0; b < k / 32; ++b, p += 18) {
        const float d = half(p);
        for (int j = 0; j < 16; ++j) {
            out[b * 32 + j] = ((p[2 + j] & 0xF) - 8) * d;
            out[b * 32 + j + 16] = ((p[2 + j] >> 4) - 8) * d;
        }
    }
}

void decode_q4_k(const uint8_t* p, uint64_t k, float* out) {
    for (uint64_t b = 0; b < k / 256; ++b)
        tern::gguf::decode_q4_k(p + b * 144, out + b * 256, false);
}

void decode_q5_k(const uint8_t* p, uint64_t k, float* out) {
    for (uint64_t b = 0; b < k / 256; ++b)
        tern::gguf::decode_q4_k(p + b * 176, out + b * 256, true);
}

void decode_q6_k(const uint8_t* p, uint64_t k, float* out) {
    for (uint64_t b = 0; b < k / 256; ++b) tern::gguf::decode_q6_k(p + b * 210, out + b * 256);
}

void encode_f32(const float* x, uint64_t k, uint8_t* out) { std::memcpy(out, x, k * 4); }

void encode_f16(const float* x, uint64_t k, uint8_t* out) {
    for (uint64_t i = 0; i < k; ++i) store_u16(out + 2 * i, f32_to_f16(x[i]));
}

void encode_bf16(const float* x, uint64_t k, uint8_t* out) {
    for (uint64_t i = 0; i < k; ++i) store_u16(out + 2 * i, f32_to_bf16(x[i]));
}

// As ggml's Q8_0 encoder: the unrounded scale divides, its half is stored.
void encode_q8_0(const float* x, uint64_t k, uint8_t* out) {
    for (uint64_t b = 0; b < k / 32; ++b, out += 34, x += 32) {
        const float d = absmax(x, 32) / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        store_u16(out, f32_to_f16(d));
        for (int i = 0; i < 32; ++i)
            out[2 + i] =
                static_cast<uint8_t>(static_cast<int8_t>(clamp_round(x[i] * id, -127, 127)));
    }
}

void encode_q4_0(const float* x, uint64_t k, uint8_t* out) {
    for (uint64_t b = 0; b < k / 32; ++b, out += 18, x += 32) {
        const float d = absmax(x, 32) / 7.0f, id = d != 0 ? 1.0f / d : 0.0f;
        store_u16(out, f32_to_f16(d));
        for (int j = 0; j < 16; ++j)
            out[2 + j] = static_cast<uint8_t>((clamp_round(x[j] * id, -8, 7) + 8) |
                                              ((clamp_round(x[j + 16] * id, -8, 7) + 8) << 4));
    }
}

void encode_q4_k(const float* x, uint64_t k, uint8_t* out) {
    for (uint64_t b = 0; b < k / 256; ++b)
        tern::gguf::encode_q4_k(x + b * 256, out + b * 144, false);
}

void encode_q5_k(const float* x, uint64_t k, uint8_t* out) {
    for (uint64_t b = 0; b < k / 256; ++b)
        tern::gguf::encode_q4_k(x + b * 256, out + b * 176, true);
}

void encode_q6_k(const float* x, uint64_t k, uint8_t* out) {
    for (uint64_t b = 0; b < k / 256; ++b) tern::gguf::encode_q6_k(x + b * 256, out + b * 210);
}

}  // namespace codec

void decode_values(TensorType type, const uint8_t* p, uint64_t k, float* out) {
    const TypeTraits& t = traits(type);
    if (!t.decode)
        throw Error(std::string("decode_values: ") + t.name +
                    " is a ternary type, not a float one");
    t.decode(p, k, out);
}

void encode_values(TensorType type, const float* x, uint64_t k, uint8_t* out) {
    const TypeTraits& t = traits(type);
    if (!t.encode)
        throw Error(std::string("encode_values: ") + t.name +
                    " is a ternary type, not a float one");
    t.encode(x, k, out);
}

void decode_row(const File& f, const TensorInfo& t, uint64_t row, float* out) {
    if (row >= t.rows())
        throw Error(f.path() + ": tensor '" + t.name + "' has " + std::to_string(t.rows()) +
                    " rows, row " + std::to_string(row) + " requested");
    if (!is_float(t.type))
        throw Error(f.path() + ": tensor '" + t.name + "' is " + tensor_type_name(t.type) +
                    ", expected a float type (" +
                    type_names([](const TypeTraits& r) { return !r.ternary; }) + ")");
    const uint64_t row_bytes = t.bytes / t.rows();
    decode_values(t.type, t.data + row * row_bytes, t.dims[0], out);
}

}  // namespace tern::gguf
