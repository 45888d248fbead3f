// Writes tests/data/ggml-blocks.bin: blocks of every float type tern decodes,
// encoded by llama.cpp's own ggml (quantize_row_*_ref, the independent encoder)
// beside ggml's own decoding of them (dequantize_row_*). gguf_test checks that
// tern decodes each block to the same floats, bit for bit. Run by
// bench/peer/ggml_blocks.sh against the libggml-base.so that npm's
// node-llama-cpp ships; the output is checked in, so the test needs no peer.
//
// File: "TGB1", then records of u32 ggml type, u32 values, u32 bytes, the
// encoded bytes, then the decoded values as f32.
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*encode_fn)(const float*, void*, int64_t);
typedef void (*decode_fn)(const void*, float*, int64_t);

struct type {
    int id;
    const char *encode, *decode;
    int block_values, block_bytes;
};

static const struct type types[] = {
    {1, "ggml_fp32_to_fp16_row", "ggml_fp16_to_fp32_row", 1, 2},
    {30, "ggml_fp32_to_bf16_row_ref", "ggml_bf16_to_fp32_row", 1, 2},
    {8, "quantize_row_q8_0_ref", "dequantize_row_q8_0", 32, 34},
    {2, "quantize_row_q4_0_ref", "dequantize_row_q4_0", 32, 18},
    {12, "quantize_row_q4_K_ref", "dequantize_row_q4_K", 256, 144},
    {13, "quantize_row_q5_K_ref", "dequantize_row_q5_K", 256, 176},
    {14, "quantize_row_q6_K_ref", "dequantize_row_q6_K", 256, 210},
};

static uint64_t state = 0x243f6a8885a308d3ull;
static double uniform(void) {  // [0, 1)
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(state >> 11) * 0x1p-53;
}

// Rows with different statistics: normal, uniform, all positive, sparse with
// outliers, tiny values (subnormal halves), and a row of zeros.
static void fill(float* x, int n, int kind) {
    for (int i = 0; i < n; ++i) {
        const double g = sqrt(-2 * log(uniform() + 1e-300)) * cos(6.283185307179586 * uniform());
        switch (kind) {
            case 0: x[i] = (float)(0.02 * g); break;
            case 1: x[i] = (float)(uniform() * 2 - 1); break;
            case 2: x[i] = (float)(0.5 + uniform()); break;
            case 3: x[i] = uniform() < 0.05 ? (float)(8 * g) : (float)(0.01 * g); break;
            case 4: x[i] = (float)(1e-6 * g); break;
            default: x[i] = 0; break;
        }
    }
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s libggml-base.so OUT\n", argv[0]);
        return 2;
    }
    void* lib = dlopen(argv[1], RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    FILE* out = fopen(argv[2], "wb");
    if (!out) {
        perror(argv[2]);
        return 1;
    }
    fwrite("TGB1", 1, 4, out);
    const int n = 512;
    float x[512], y[512];
    uint8_t blocks[512 * 4];
    for (size_t t = 0; t < sizeof types / sizeof types[0]; ++t) {
        encode_fn enc = (encode_fn)dlsym(lib, types[t].encode);
        decode_fn dec = (decode_fn)dlsym(lib, types[t].decode);
        if (!enc || !dec) {
            fprintf(stderr, "%s or %s missing from %s\n", types[t].encode, types[t].decode, argv[1]);
            return 1;
        }
        for (int kind = 0; kind < 6; ++kind) {
            fill(x, n, kind);
            const uint32_t bytes = (uint32_t)(n / types[t].block_values * types[t].block_bytes);
            enc(x, blocks, n);
            dec(blocks, y, n);
            const uint32_t head[3] = {(uint32_t)types[t].id, (uint32_t)n, bytes};
            fwrite(head, 4, 3, out);
            fwrite(blocks, 1, bytes, out);
            fwrite(y, 4, n, out);
        }
    }
    return fclose(out) == 0 ? 0 : 1;
}
