// Fuzz target: arbitrary bytes to tokens and back. The first byte picks the
// mode (BOS or not, control-token names parsed or not); the rest is the text.
// Every id must lie in the vocabulary, and text that is valid UTF-8, encoded
// without parsing control tokens, must decode to exactly itself.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_support.h"
#include "tern/error.h"
#include "tern/gguf.h"
#include "tern/tokenizer.h"

namespace {

bool valid_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const int n = c < 0x80             ? 0
                      : (c & 0xe0) == 0xc0 ? 1
                      : (c & 0xf0) == 0xe0 ? 2
                      : (c & 0xf8) == 0xf0 ? 3
                                           : -1;
        if (n < 0 || i + n >= s.size()) return false;
        uint32_t cp = n == 0 ? c : c & (0x3f >> n);
        for (int j = 1; j <= n; ++j) {
            const auto d = static_cast<unsigned char>(s[i + j]);
            if ((d & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        static const uint32_t min_of[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_of[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n + 1;
    }
    return true;
}

const tern::Tokenizer& tokenizer() {
    static const tern::gguf::File file = tern::gguf::File::open(tern::fuzz::tokenizer_model_path());
    static const tern::Tokenizer tok = tern::Tokenizer::from_gguf(file);
    return tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const tern::Tokenizer& tok = tokenizer();
    const bool add_bos = data[0] & 1, parse_special = data[0] & 2;
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::vector<int> ids = tok.encode(text, add_bos, parse_special);
    for (int id : ids)
        if (id < 0 || id >= tok.n_vocab()) {
            std::fprintf(stderr, "token id %d outside the vocabulary of %d\n", id, tok.n_vocab());
            std::abort();
        }
    const std::string back = tok.decode(ids);
    if (!parse_special && valid_utf8(text) && back != text) {
        std::fprintf(stderr, "round trip changed the text: %zu bytes in, %zu bytes out\n",
                     text.size(), back.size());
        std::abort();
    }
    return 0;
}
