// The GGUF reader, tensor codecs and writer: round trips, files from an
// independent writer, and a specific error (never a crash) for every kind of
// damaged file.
#include "tern/gguf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "tern/error.h"
#include "tern/gguf_tensors.h"
#include "tern/gguf_writer.h"
#include "tern/synthetic_model.h"
#include "test_data.h"

namespace tern::gguf {
namespace {

namespace fs = std::filesystem;

class Gguf : public testing::Test {
protected:
    void SetUp() override {
        // The process id too: the cross-compiled suite runs the same tests
        // under qemu at the same time, and a file one of them maps must not be
        // rewritten by the other (that was a SIGBUS).
        dir_ = fs::temp_directory_path() /
               ("tern_gguf_" + std::to_string(::getpid()) + "_" +
                std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    static void write_bytes(const std::string& p, const std::vector<uint8_t>& bytes) {
        std::ofstream(p, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    static std::vector<uint8_t> read_bytes(const std::string& p) {
        std::ifstream in(p, std::ios::binary);
        return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
    }
    // Expects open(p) to throw tern::Error containing `fragment`.
    static void expect_open_error(const std::string& p, const std::string& fragment) {
        try {
            File::open(p);
            ADD_FAILURE() << "opened " << p << ", expected an error containing '" << fragment
                          << "'";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
                << "error '" << e.what() << "' lacks '" << fragment << "'";
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
                << "error does not name the file";
        }
    }
    fs::path dir_;
};

// Builds GGUF bytes by hand, so that tests can write what the Writer refuses to.
class Bytes {
public:
    template <typename T>
    Bytes& put(T v) {
        const size_t at = b.size();
        b.resize(at + sizeof(T));
        std::memcpy(b.data() + at, &v, sizeof(T));
        return *this;
    }
    Bytes& str(const std::string& s) {
        put<uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Bytes& header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
        return put<uint32_t>(0x46554747u)
            .put<uint32_t>(version)
            .put<uint64_t>(tensors)
            .put<uint64_t>(kvs);
    }
    Bytes& kv_u32(const std::string& k, uint32_t v) {
        return str(k).put<uint32_t>(4).put<uint32_t>(v);
    }
    Bytes& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                  uint64_t offset) {
        str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
        for (uint64_t d : dims) put<uint64_t>(d);
        return put<uint32_t>(type).put<uint64_t>(offset);
    }
    Bytes& align(size_t a = 32) {
        b.resize((b.size() + a - 1) / a * a, 0);
        return *this;
    }
    Bytes& zeros(size_t n) {
        b.resize(b.size() + n, 0);
        return *this;
    }
    std::vector<uint8_t> b;
};

TEST_F(Gguf, WriterAndReaderRoundTrip) {
    Writer w;
    w.set_u32("a.u32", 7);
    w.set_i32("a.i32", -5);
    w.set_f32("a.f32", 0.25f);
    w.set_bool("a.bool", true);
    w.set_string("a.string", "h\xc3\xa9llo");
    w.set_strings("a.strings", {"x", "", "zz"});
    w.set_i32s("a.i32s", {1, -2, 3});
    w.add_tensor("f32", {3, 2}, TensorType::f32, [](uint8_t* d) {
        const float v[6] = {1, 2, 3, 4, 5, 6};
        std::memcpy(d, v, sizeof v);
    });
    w.add_tensor("f16", {2}, TensorType::f16, [](uint8_t* d) {
        const uint16_t v[2] = {f32_to_f16(1.5f), f32_to_f16(-2.0f)};
        std::memcpy(d, v, sizeof v);
    });
    w.write(path("rt.gguf"));
    EXPECT_FALSE(fs::exists(path("rt.gguf.tmp")));
    const File f = File::open(path("rt.gguf"));
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.get_uint("a.u32"), 7u);
    EXPECT_EQ(f.get_int("a.i32"), -5);
    EXPECT_EQ(f.get_float("a.f32"), 0.25f);
    EXPECT_TRUE(f.get_bool("a.bool"));
    EXPECT_EQ(f.get_string("a.string"), "h\xc3\xa9llo");
    EXPECT_EQ(f.get_strings("a.strings").size(), 3u);
    EXPECT_EQ(f.get_strings("a.strings")[2], "zz");
    EXPECT_EQ(f.get_int32s("a.i32s"), (std::vector<int32_t>{1, -2, 3}));
    float row[3];
    decode_row(f, f.tensor("f32"), 1, row);
    EXPECT_EQ(row[0], 4);
    EXPECT_EQ(row[2], 6);
    decode_row(f, f.tensor("f16"), 0, row);
    EXPECT_EQ(row[0], 1.5f);
    EXPECT_EQ(row[1], -2.0f);
    // Typed getters name the key and what was expected.
    EXPECT_THROW(f.get_string("a.u32"), Error);
    try {
        f.get_uint("no.such.key");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing key 'no.such.key'"), std::string::npos);
    }
    try {
        f.tensor("blk.0.attn_q.weight");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing tensor 'blk.0.attn_q.weight'"),
                  std::string::npos);
    }
}

TEST(HalfFloat, EveryHalfRoundTripsThroughFloat) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = f16_to_f32(static_cast<uint16_t>(h));
        if (std::isnan(f)) continue;
        ASSERT_EQ(f32_to_f16(f), h) << "half 0x" << std::hex << h;
    }
    EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
    EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);                      // rounds past the largest half
    EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie to even
}

TEST_F(Gguf, TernaryTypesRoundTripExactly) {
    const int k = 512, n = 9;
    const TernaryMatrix m = test::random_ternary(n, k, 3, 0.125f);
    for (TensorType type : {TensorType::tq2_0, TensorType::tq1_0, TensorType::i2_s}) {
        Writer w;
        w.add_tensor("w", {uint64_t(k), uint64_t(n)}, type, [&](uint8_t* d) {
            const uint64_t rb = ternary_row_bytes(type, k);
            for (int r = 0; r < n; ++r)
                encode_ternary_row(type, &m.w[size_t(r) * k], k, m.scale, d + r * rb);
            if (type == TensorType::i2_s) encode_i2s_scale(m.scale, d + n * rb);
        });
        const std::string p = path(std::string(tensor_type_name(type)) + ".gguf");
        w.write(p);
        const File f = File::open(p);
        const TernaryTensor t = ternary_tensor(f, f.tensor("w"));
        EXPECT_EQ(t.k, k);
        EXPECT_EQ(t.n, n);
        EXPECT_EQ(t.scale, 0.125f) << tensor_type_name(type);
        std::vector<int8_t> row(k);
        for (int r = 0; r < n; ++r) {
            t.rows(r, row.data());
            ASSERT_EQ(0, std::memcmp(row.data(), &m.w[size_t(r) * k], k))
                << tensor_type_name(type) << " row " << r;
        }
    }
}

TEST_F(Gguf, IndependentWriterFilesDecodeToTheSameWeights) {
    const File tq2 = File::open(TERN_TEST_DATA "/peer-tiny-tq2_0.gguf");
    const File tq1 = File::open(TERN_TEST_DATA "/peer-tiny-tq1_0.gguf");
    EXPECT_EQ(tq2.get_string("general.architecture"), "bitnet");
    EXPECT_EQ(tq2.get_uint("bitnet.block_count"), 1u);
    EXPECT_EQ(tq2.get_uint("bitnet.embedding_length"), 256u);
    EXPECT_EQ(tq2.get_strings("tokenizer.ggml.tokens").size(), 512u);
    EXPECT_EQ(tq2.tensor("token_embd.weight").type, TensorType::q8_0);
    int compared = 0;
    for (const TensorInfo& a : tq2.tensors()) {
        if (!is_ternary(a.type)) continue;
        const TensorInfo& b = tq1.tensor(a.name);
        EXPECT_EQ(b.type, TensorType::tq1_0);
        const TernaryTensor ta = ternary_tensor(tq2, a), tb = ternary_tensor(tq1, b);
        ASSERT_EQ(ta.k, tb.k);
        ASSERT_EQ(ta.n, tb.n);
        EXPECT_EQ(ta.scale, tb.scale) << a.name;
        std::vector<int8_t> ra(ta.k), rb(tb.k);
        int counts[3] = {};
        for (int r = 0; r < ta.n; ++r) {
            ta.rows(r, ra.data());
            tb.rows(r, rb.data());
            ASSERT_EQ(ra, rb) << a.name << " row " << r;
            for (int8_t v : ra) ++counts[v + 1];
        }
        for (int c : counts)
            EXPECT_GT(c, ta.k * ta.n / 4) << a.name << ": not a random ternary matrix";
        ++compared;
    }
    EXPECT_EQ(compared, 7);
    // Q8_0 embedding rows decode to small values (the writer aims at std 0.04).
    std::vector<float> row(256);
    decode_row(tq2, tq2.tensor("token_embd.weight"), 5, row.data());
    float amax = 0;
    for (float v : row) amax = std::max(amax, std::fabs(v));
    EXPECT_GT(amax, 0.0f);
    EXPECT_LT(amax, 1.0f);
}

TEST_F(Gguf, SyntheticModelIsDeterministicAndComplete) {
    ModelShape s = model_preset("tiny");
    SyntheticModelOptions o;
    o.seed = 11;
    o.activation = "relu2";
    write_synthetic_model(path("a.gguf"), s, o);
    write_synthetic_model(path("b.gguf"), s, o);
    o.seed = 12;
    write_synthetic_model(path("c.gguf"), s, o);
    EXPECT_EQ(read_bytes(path("a.gguf")), read_bytes(path("b.gguf")));
    EXPECT_NE(read_bytes(path("a.gguf")), read_bytes(path("c.gguf")));
    const File f = File::open(path("a.gguf"));
    EXPECT_EQ(f.tensors().size(), 2u + 11u * s.n_layer);
    EXPECT_EQ(f.tensor("blk.3.ffn_down.weight").dims, (std::vector<uint64_t>{768, 256}));
    EXPECT_EQ(f.tensor("blk.0.attn_k.weight").dims, (std::vector<uint64_t>{256, 128}));
    EXPECT_EQ(f.get_string("tern.ffn_activation"), "relu2");
    // Unit-variance scale times a per-tensor factor in [0.75, 1.25): tensors of
    // one shape differ in scale, as trained ones do.
    const float unit = 1.0f / std::sqrt(256 * 2.0f / 3.0f);
    const float q_scale = ternary_tensor(f, f.tensor("blk.0.attn_q.weight")).scale;
    const float k_scale = ternary_tensor(f, f.tensor("blk.0.attn_k.weight")).scale;
    EXPECT_GE(q_scale, 0.749f * unit);
    EXPECT_LT(q_scale, 1.251f * unit);
    EXPECT_NE(q_scale, k_scale);
    EXPECT_THROW(model_preset("huge"), Error);
}

TEST_F(Gguf, DamagedFilesGiveSpecificErrors) {
    const std::string p = path("bad.gguf");
    auto check = [&](const Bytes& b, const std::string& fragment) {
        write_bytes(p, b.b);
        expect_open_error(p, fragment);
    };
    check(Bytes(), "truncated: magic");
    check(Bytes().put<uint32_t>(0x4c4c4747u).put<uint32_t>(3), "not a GGUF file: magic is 'GGLL'");
    check(Bytes().header(0, 0, 1), "GGUF version 1 is not supported");
    check(Bytes().header(0, 0, 0x03000000), "a big-endian file?");
    check(Bytes().header(0, uint64_t(1) << 60), "metadata count 1152921504606846976 cannot fit");
    check(Bytes().header(uint64_t(1) << 40, 0), "tensor count 1099511627776 cannot fit");
    check(Bytes().header(0, 1).put<uint64_t>(uint64_t(1) << 40).zeros(16),
          "truncated: key of metadata entry 0");
    check(Bytes().header(0, 1).str("k").put<uint32_t>(13).zeros(16), "type of key 'k' is 13");
    check(Bytes().header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(1000).zeros(8),
          "truncated: value of key 'k' (1000 bytes)");
    check(Bytes()
              .header(0, 1)
              .str("k")
              .put<uint32_t>(9)
              .put<uint32_t>(4)
              .put<uint64_t>(uint64_t(1) << 50)
              .zeros(8),
          "array of 1125899906842624 u32 values cannot fit");
    check(
        Bytes().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1).zeros(16),
        "arrays of arrays are not supported");
    check(Bytes().header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2).zeros(16),
          "expected 0 or 1");
    check(Bytes().header(0, 2).kv_u32("k", 1).kv_u32("k", 2), "key 'k' appears twice");
    check(Bytes().header(0, 1).kv_u32("general.alignment", 24), "key 'general.alignment' is 24");
    check(Bytes().header(1, 0).tensor("t", {4}, 99, 0).align().zeros(32),
          "tensor 't' has ggml type 99, which tern does not read");
    check(Bytes().header(1, 0).tensor("t", {}, 0, 0).align().zeros(32), "has 0 dimensions");
    check(Bytes().header(1, 0).tensor("t", {4, 0}, 0, 0).align().zeros(32), "dimension 1 is 0");
    check(Bytes().header(1, 0).tensor("t", {uint64_t(1) << 40, uint64_t(1) << 20}, 0, 0).align(),
          "expected 1 to 2^50 elements");
    check(Bytes().header(1, 0).tensor("t", {100}, 35, 0).align().zeros(66),
          "TQ2_0 with rows of 100 values, expected a multiple of 256");
    check(Bytes().header(1, 0).tensor("t", {4}, 0, 8).align().zeros(64),
          "data offset 8 is not a multiple");
    check(Bytes().header(1, 0).tensor("t", {64}, 0, 0).align().zeros(100),
          "ends past the end of the file");
    check(Bytes().header(1, 0).tensor("t", {4}, 0, uint64_t(1) << 62).align().zeros(32),
          "ends past the end of the file");
    check(Bytes().header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).align().zeros(128),
          "tensors 'a' and 'b' overlap");
    check(Bytes().header(2, 0).tensor("a", {4}, 0, 0).tensor("a", {4}, 0, 32).align().zeros(64),
          "tensor 'a' appears twice");
}

TEST_F(Gguf, EveryTruncationIsAnErrorNotACrash) {
    ModelShape s = model_preset("tiny");
    s.n_layer = 1;
    s.n_vocab = 300;
    write_synthetic_model(path("full.gguf"), s, {});
    const std::vector<uint8_t> full = read_bytes(path("full.gguf"));
    int errors = 0;
    // Every cut inside the header (metadata, tensor infos), then cuts through the data.
    std::vector<size_t> cuts;
    for (size_t n = 0; n < 24; ++n) cuts.push_back(n);
    for (size_t n = 24; n < full.size(); n += (n < 20000 ? 97 : 4099)) cuts.push_back(n);
    cuts.push_back(full.size() - 1);
    for (size_t n : cuts) {
        write_bytes(path("cut.gguf"), std::vector<uint8_t>(full.begin(), full.begin() + n));
        try {
            File::open(path("cut.gguf"));
        } catch (const Error& e) {
            const std::string m = e.what();
            EXPECT_TRUE(m.find("truncated") != std::string::npos ||
                        m.find("past the end") != std::string::npos)
                << "cut at " << n << ": " << m;
            ++errors;
            continue;
        }
        ADD_FAILURE() << "file cut at " << n << " of " << full.size() << " bytes opened";
    }
    EXPECT_EQ(errors, static_cast<int>(cuts.size()));
}

TEST_F(Gguf, PerTensorScaleMultipliesIn) {
    const int k = 256;
    auto write = [&](TensorType scale_type) {
        Writer w;
        w.add_tensor("blk.0.attn_q.weight", {uint64_t(k), 1}, TensorType::tq2_0, [&](uint8_t* d) {
            std::vector<int8_t> row(k, 1);
            encode_ternary_row(TensorType::tq2_0, row.data(), k, 0.5f, d);
        });
        w.add_tensor("blk.0.attn_q.scale", {1}, scale_type, [](uint8_t* d) {
            const float v = 3.0f;
            std::memcpy(d, &v, 4);
        });
        w.write(path("s.gguf"));
    };
    write(TensorType::f32);
    const File f = File::open(path("s.gguf"));
    EXPECT_EQ(ternary_tensor(f, f.tensor("blk.0.attn_q.weight")).scale, 1.5f);
    write(TensorType::f16);
    const File g = File::open(path("s.gguf"));
    try {
        ternary_tensor(g, g.tensor("blk.0.attn_q.weight"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'blk.0.attn_q.scale' must be one F32 value"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(Gguf, BadTernaryContentIsNamed) {
    const int k = 256, n = 2;
    Writer w;
    w.add_tensor(
        "blk.0.attn_q.weight", {uint64_t(k), uint64_t(n)}, TensorType::tq2_0, [&](uint8_t* d) {
            std::vector<int8_t> row(k, 1);
            encode_ternary_row(TensorType::tq2_0, row.data(), k, 0.5f, d);
            encode_ternary_row(TensorType::tq2_0, row.data(), k, 0.25f, d + 66);  // another scale
        });
    w.add_tensor("blk.0.attn_k.weight", {uint64_t(k), 1}, TensorType::tq2_0, [&](uint8_t* d) {
        std::vector<int8_t> row(k, 0);
        encode_ternary_row(TensorType::tq2_0, row.data(), k, 0.5f, d);
        d[3] = 0xff;  // code 3 in every position of byte 3
    });
    w.write(path("t.gguf"));
    const File f = File::open(path("t.gguf"));
    try {
        ternary_tensor(f, f.tensor("blk.0.attn_q.weight"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(
            std::string(e.what()).find("'blk.0.attn_q.weight' has block scale 0.25 at block 1"),
            std::string::npos)
            << e.what();
    }
    const TernaryTensor t = ternary_tensor(f, f.tensor("blk.0.attn_k.weight"));
    std::vector<int8_t> row(k);
    try {
        t.rows(0, row.data());
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("row 0, column 3 holds code 3"), std::string::npos)
            << e.what();
    }
}

// Blocks of every float type written by llama.cpp's own ggml encoders, with
// ggml's decoding of them (tests/data/ggml-blocks.bin, made by
// bench/peer/ggml_blocks.sh): tern decodes each to the same floats, bit for bit.
TEST(FloatTypes, DecodeAsGgmlDoesBitForBit) {
    std::ifstream in(TERN_TEST_DATA "/ggml-blocks.bin", std::ios::binary);
    ASSERT_TRUE(in) << "tests/data/ggml-blocks.bin missing";
    char magic[4];
    in.read(magic, 4);
    ASSERT_EQ(std::string(magic, 4), "TGB1");
    std::map<TensorType, int> records;
    for (uint32_t head[3]; in.read(reinterpret_cast<char*>(head), sizeof head);) {
        const auto type = static_cast<TensorType>(head[0]);
        const uint32_t n = head[1], bytes = head[2];
        ASSERT_EQ(bytes, n / block_values(type) * block_bytes(type)) << tensor_type_name(type);
        std::vector<uint8_t> blocks(bytes);
        std::vector<float> want(n), got(n);
        in.read(reinterpret_cast<char*>(blocks.data()), bytes);
        in.read(reinterpret_cast<char*>(want.data()), 4 * n);
        ASSERT_TRUE(in);
        decode_values(type, blocks.data(), n, got.data());
        for (uint32_t i = 0; i < n; ++i) {
            uint32_t a, b;
            std::memcpy(&a, &got[i], 4);
            std::memcpy(&b, &want[i], 4);
            ASSERT_EQ(a, b) << tensor_type_name(type) << " record " << records[type] << " value "
                            << i << ": tern " << got[i] << ", ggml " << want[i];
        }
        ++records[type];
    }
    for (TensorType t : {TensorType::f16, TensorType::bf16, TensorType::q8_0, TensorType::q4_0,
                         TensorType::q4_k, TensorType::q5_k, TensorType::q6_k})
        EXPECT_EQ(records[t], 6) << tensor_type_name(t);
}

// tern's own encoders (gen-model's) give valid blocks close to their input:
// within half a quantisation step of the block's range.
TEST(FloatTypes, OwnEncodersRoundTripWithinAStep) {
    const int n = 1024;
    const std::vector<float> x = test::random_float(n, 11, -0.3f, 0.5f);
    const std::pair<TensorType, float> types[] = {
        {TensorType::f32, 0},           {TensorType::f16, 1e-3f},     {TensorType::bf16, 4e-3f},
        {TensorType::q8_0, 0.5f / 127}, {TensorType::q4_0, 0.5f / 7}, {TensorType::q4_k, 0.8f / 15},
        {TensorType::q5_k, 0.8f / 31},  {TensorType::q6_k, 0.5f / 31}};
    for (const auto& [type, step] : types) {
        std::vector<uint8_t> blocks(n / block_values(type) * block_bytes(type));
        std::vector<float> y(n);
        encode_values(type, x.data(), n, blocks.data());
        decode_values(type, blocks.data(), n, y.data());
        double max_err = 0;
        for (int i = 0; i < n; ++i) max_err = std::max(max_err, double(std::fabs(y[i] - x[i])));
        EXPECT_LE(max_err, step * 0.75 + 1e-7) << tensor_type_name(type);
    }
}

// Ternary weights stored as float values, as converters write them before
// quantising: read as ternary when every value is 0 or +-one scale, else an
// error naming the tensor, row, column and value.
TEST_F(Gguf, TernaryMatricesInFloatTypes) {
    const int k = 64, n = 5;
    const TernaryMatrix m = test::random_ternary(n, k, 9, 0.75f);
    for (TensorType type : {TensorType::f32, TensorType::f16, TensorType::bf16}) {
        Writer w;
        auto add = [&](const std::string& name, float bad) {
            w.add_tensor(name, {uint64_t(k), uint64_t(n)}, type, [&, bad](uint8_t* d) {
                std::vector<float> v(m.w.size());
                for (size_t i = 0; i < v.size(); ++i) v[i] = m.w[i] * m.scale;
                if (bad != 0) v[3 * k + 17] = bad;
                encode_values(type, v.data(), v.size(), d);
            });
        };
        add("good.weight", 0);
        add("bad.weight", 0.5f);
        w.write(path("f.gguf"));
        const File f = File::open(path("f.gguf"));
        const TernaryTensor t = ternary_tensor(f, f.tensor("good.weight"));
        EXPECT_EQ(t.scale, 0.75f) << tensor_type_name(type);
        std::vector<int8_t> row(k);
        for (int r = 0; r < n; ++r) {
            t.rows(r, row.data());
            ASSERT_EQ(0, std::memcmp(row.data(), &m.w[size_t(r) * k], k)) << tensor_type_name(type);
        }
        const TernaryTensor bad = ternary_tensor(f, f.tensor("bad.weight"));
        try {
            for (int r = 0; r < n; ++r) bad.rows(r, row.data());
            ADD_FAILURE() << "decoded a non-ternary " << tensor_type_name(type) << " tensor";
        } catch (const Error& e) {
            EXPECT_NE(
                std::string(e.what()).find("'bad.weight' (" + std::string(tensor_type_name(type)) +
                                           ") row 3, column 17 holds 0.5, expected 0 or +-0.75"),
                std::string::npos)
                << e.what();
        }
    }
    Writer w;
    w.add_tensor("q.weight", {256, 1}, TensorType::q4_k,
                 [](uint8_t* d) { std::memset(d, 0, 144); });
    w.write(path("q.gguf"));
    const File q = File::open(path("q.gguf"));
    try {
        ternary_tensor(q, q.tensor("q.weight"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'q.weight' is Q4_K, expected a ternary type"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace tern::gguf
