// Byte-level BPE with LLaMA-3's or Qwen2's pre-tokenizer. LLaMA-3's is the regex
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// and Qwen2's (Qwen2, Qwen3) the same with \p{N} single digits; written out
// as a scanner over code points: at each position the first alternative that
// matches wins, as in the regex.
#include "tern/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <queue>

#include "tern/error.h"

namespace tern {
namespace {

struct CodeRange {
    uint32_t lo, hi;
};
#include "text/unicode_tables.inc"

template <size_t N>
bool in_ranges(const CodeRange (&ranges)[N], uint32_t cp) {
    const CodeRange* end = ranges + N;
    const CodeRange* it =
        std::upper_bound(ranges, end, cp, [](uint32_t v, const CodeRange& r) { return v < r.lo; });
    return it != ranges && cp <= (it - 1)->hi;
}

bool is_letter(uint32_t cp) { return in_ranges(kLetterRanges, cp); }
bool is_number(uint32_t cp) { return in_ranges(kNumberRanges, cp); }
bool is_space(uint32_t cp) {  // Unicode White_Space
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}
bool is_newline(uint32_t cp) { return cp == '\r' || cp == '\n'; }

// Code points of UTF-8 text with the byte offset of each; an invalid byte
// stands for itself (as a code point no class matches) so nothing is lost.
struct Text {
    std::vector<uint32_t> cp;
    std::vector<size_t> at;  // byte offset of cp[i]; at[cp.size()] = text size
};

Text decode_utf8(const std::string& s) {
    Text t;
    const auto* b = reinterpret_cast<const unsigned char*>(s.data());
    size_t i = 0;
    while (i < s.size()) {
        uint32_t c = b[i];
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + len <= s.size();
        for (int k = 1; ok && k < len; ++k) ok = (b[i + k] & 0xc0) == 0x80;
        if (ok && len > 1) {
            c &= 0x7f >> len;
            for (int k = 1; k < len; ++k) c = (c << 6) | (b[i + k] & 0x3f);
        }
        if (!ok) {
            c = 0x110000 + b[i];  // outside Unicode: matches no class
            len = 1;
        }
        t.cp.push_back(c);
        t.at.push_back(i);
        i += len;
    }
    t.at.push_back(s.size());
    return t;
}

uint32_t lower_ascii(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// Length (in code points) of the match starting at i; digits run in groups of
// at most max_digits.
size_t match_at(const std::vector<uint32_t>& c, size_t i, size_t max_digits) {
    const size_t n = c.size();
    auto letter = [&](size_t j) { return j < n && is_letter(c[j]); };
    auto number = [&](size_t j) { return j < n && is_number(c[j]); };
    auto space = [&](size_t j) { return j < n && is_space(c[j]); };
    // 's 't 're 've 'm 'll 'd, any case
    if (c[i] == '\'' && i + 1 < n) {
        const uint32_t a = lower_ascii(c[i + 1]), b = i + 2 < n ? lower_ascii(c[i + 2]) : 0;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    {
        size_t j = i;
        if (!letter(j) && !is_newline(c[j]) && !number(j) && letter(j + 1)) ++j;
        if (letter(j)) {
            while (letter(j)) ++j;
            return j - i;
        }
    }
    // \p{N}{1,3} (LLaMA-3), \p{N} (Qwen2)
    if (number(i)) {
        size_t j = i;
        while (j < i + max_digits && number(j)) ++j;
        return j - i;
    }
    // " ?[^\s\p{L}\p{N}]+[\r\n]*"
    {
        size_t j = i;
        if (c[j] == ' ') ++j;
        auto other = [&](size_t k) {
            return k < n && !is_space(c[k]) && !is_letter(c[k]) && !is_number(c[k]);
        };
        if (other(j)) {
            while (other(j)) ++j;
            while (j < n && is_newline(c[j])) ++j;
            return j - i;
        }
    }
    // \s*[\r\n]+ : up to and including the last newline of the whitespace run
    size_t end = i;
    while (space(end)) ++end;
    for (size_t j = end; j > i; --j)
        if (is_newline(c[j - 1])) return j - i;
    // \s+(?!\S) : the run, less its last character when a non-space follows
    if (end > i) {
        if (end == n) return end - i;
        if (end - i >= 2) return end - i - 1;
        return 1;  // \s+
    }
    return 1;
}

// The pre-tokenizers tern implements, by tokenizer.ggml.pre (llama.cpp's
// names): how many digits group together, and whether a piece that is a token
// whole skips merging (LLaMA-3's ignore_merges; llama.cpp's llama-vocab.cpp).
struct PreTokenizer {
    std::vector<const char*> names;
    size_t max_digits;
    bool ignore_merges;
};
const std::vector<PreTokenizer>& pre_tokenizers() {
    // Falcon3 and llama-v3 name LLaMA-3's too; "default" files (and files
    // without the key) get LLaMA-3's, as tern always gave them.
    static const std::vector<PreTokenizer> table = {
        {{"llama-bpe", "llama3", "llama-v3", "falcon3", "default"}, 3, true},
        {{"qwen2"}, 1, false},
    };
    return table;
}

}  // namespace

const std::vector<std::string>& byte_level_chars() {
    static const std::vector<std::string> chars = [] {
        std::vector<int> code(256, -1);
        for (int b = '!'; b <= '~'; ++b) code[b] = b;
        for (int b = 0xa1; b <= 0xac; ++b) code[b] = b;
        for (int b = 0xae; b <= 0xff; ++b) code[b] = b;
        int extra = 0;
        for (int b = 0; b < 256; ++b)
            if (code[b] < 0) code[b] = 256 + extra++;
        std::vector<std::string> out(256);
        for (int b = 0; b < 256; ++b) {
            const int c = code[b];
            if (c < 0x80)
                out[b] = std::string(1, static_cast<char>(c));
            else  // every code point here is below 0x800: two UTF-8 bytes
                out[b] = {static_cast<char>(0xc0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3f))};
        }
        return out;
    }();
    return chars;
}

std::vector<std::string> Tokenizer::pre_tokenize(const std::string& text, size_t max_digits) {
    const Text t = decode_utf8(text);
    std::vector<std::string> out;
    for (size_t i = 0; i < t.cp.size();) {
        const size_t len = match_at(t.cp, i, max_digits);
        out.push_back(text.substr(t.at[i], t.at[i + len] - t.at[i]));
        i += len;
    }
    return out;
}

namespace {

// "<0x41>" for byte 0x41: SentencePiece's byte-fallback tokens.
std::string byte_token(int b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    return buf;
}

const std::string kSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's visible space

}  // namespace

Tokenizer Tokenizer::from_gguf(const gguf::File& f) {
    const std::string model = f.get_string("tokenizer.ggml.model");
    if (model != "gpt2" && model != "llama")
        throw Error(f.path() + ": tokenizer.ggml.model is '" + model +
                    "', expected 'gpt2' (byte-level BPE: LLaMA-3, Qwen) or 'llama' "
                    "(SentencePiece: Gemma)");
    Tokenizer t;
    for (std::string_view s : f.get_strings("tokenizer.ggml.tokens")) t.tokens_.emplace_back(s);
    const int n = t.n_vocab();
    for (int i = 0; i < n; ++i) t.ids_.emplace(t.tokens_[i], i);
    // SentencePiece vocabularies: the "llama" model, or a "gpt2" file whose
    // tokens are SentencePiece's (bitnet.cpp's Gemma3 embedding files): the
    // visible space and all 256 "<0x..>" byte tokens. (Gemma's vocabulary
    // holds byte-level characters such as "Ġ" too, as ordinary tokens.)
    bool byte_tokens = t.ids_.count(kSpace) != 0;
    for (int b = 0; b < 256 && byte_tokens; ++b) byte_tokens = t.ids_.count(byte_token(b)) != 0;
    t.sentencepiece_ = model == "llama" || byte_tokens;
    if (!t.sentencepiece_) {
        const std::string pre =
            f.has("tokenizer.ggml.pre") ? f.get_string("tokenizer.ggml.pre") : "llama-bpe";
        const PreTokenizer* found = nullptr;
        std::string known;
        for (const PreTokenizer& p : pre_tokenizers())
            for (const char* name : p.names) {
                if (pre == name) found = &p;
                known += (known.empty() ? "'" : ", '") + std::string(name) + "'";
            }
        if (!found)
            throw Error(f.path() + ": tokenizer.ggml.pre is '" + pre +
                        "', which tern does not implement (known: " + known + ")");
        t.max_digits_ = found->max_digits;
        t.ignore_merges_ = found->ignore_merges;
    } else {
        t.ignore_merges_ = false;
        // llama.cpp's default for SentencePiece models is a leading space;
        // Gemma's files say false.
        t.add_space_prefix_ = f.has("tokenizer.ggml.add_space_prefix")
                                  ? f.get_bool("tokenizer.ggml.add_space_prefix")
                                  : model == "llama";
        for (int b = 0; b < 256; ++b) t.byte_ids_[b] = t.find(byte_token(b));
    }
    if (f.has("tokenizer.ggml.token_type")) {
        t.types_ = f.get_int32s("tokenizer.ggml.token_type");
        if (static_cast<int>(t.types_.size()) != n)
            throw Error(f.path() + ": tokenizer.ggml.token_type has " +
                        std::to_string(t.types_.size()) + " entries, expected one per token (" +
                        std::to_string(n) + ")");
    } else {
        t.types_.assign(n, 1);
    }
    // Merge priority: the merge rules' ranks where the file has them (BPE),
    // else the tokens' scores (SentencePiece: the higher, the earlier).
    if (f.has("tokenizer.ggml.merges")) {
        const auto& merges = f.get_strings("tokenizer.ggml.merges");
        for (size_t r = 0; r < merges.size(); ++r) {
            const std::string m(merges[r]);
            if (std::count(m.begin(), m.end(), ' ') != 1)
                throw Error(f.path() + ": tokenizer.ggml.merges entry " + std::to_string(r) +
                            " ('" + m + "') is not two tokens separated by one space");
            t.merge_rank_.emplace(m, static_cast<int>(r));
        }
    } else if (!t.sentencepiece_) {
        throw Error(f.path() +
                    ": key 'tokenizer.ggml.merges' is missing (byte-level BPE needs "
                    "its merge rules)");
    } else {
        t.scores_ = f.get_floats("tokenizer.ggml.scores");
        if (static_cast<int>(t.scores_.size()) != n)
            throw Error(f.path() + ": tokenizer.ggml.scores has " +
                        std::to_string(t.scores_.size()) + " entries, expected one per token (" +
                        std::to_string(n) + ")");
    }
    auto id_key = [&](const char* key) {
        const uint64_t id = f.get_uint(key);
        if (id >= static_cast<uint64_t>(n))
            throw Error(f.path() + ": " + key + " is " + std::to_string(id) +
                        ", outside the vocabulary of " + std::to_string(n));
        return static_cast<int>(id);
    };
    t.eos_ = id_key("tokenizer.ggml.eos_token_id");
    // Qwen's files may have no BOS: they never add one.
    t.bos_ = f.has("tokenizer.ggml.bos_token_id") ? id_key("tokenizer.ggml.bos_token_id") : -1;
    t.add_bos_ =
        t.bos_ >= 0 &&
        (f.has("tokenizer.ggml.add_bos_token") ? f.get_bool("tokenizer.ggml.add_bos_token") : true);
    t.add_eos_ =
        f.has("tokenizer.ggml.add_eos_token") && f.get_bool("tokenizer.ggml.add_eos_token");
    if (f.has("tokenizer.ggml.unknown_token_id"))
        t.unk_ = id_key("tokenizer.ggml.unknown_token_id");
    t.end_ids_ = {t.eos_};
    for (const char* name : {"<|eot_id|>", "<|end_of_text|>", "<|eom_id|>", "<|im_end|>",
                             "<|endoftext|>", "<end_of_turn>"})
        if (auto it = t.ids_.find(name); it != t.ids_.end()) t.end_ids_.push_back(it->second);

    // Control tokens (type 3) are recognised in text only when asked;
    // user-defined ones (type 4: added tokens that are not special) always, as
    // Hugging Face's tokenizers and llama.cpp match them before BPE.
    for (int i = 0; i < n; ++i) {
        if (t.tokens_[i].empty()) continue;
        if (t.types_[i] == 3) t.specials_.push_back(i);
        if (t.types_[i] == 4) t.user_defined_.push_back(i);
    }
    for (std::vector<int>* list : {&t.specials_, &t.user_defined_})
        std::stable_sort(list->begin(), list->end(),
                         [&](int a, int b) { return t.tokens_[a].size() > t.tokens_[b].size(); });

    // Byte strings of tokens: map each byte-level character back to its byte,
    // or SentencePiece's visible space back to a space and "<0x..>" to its byte.
    std::unordered_map<std::string, char> byte_of;
    for (int b = 0; b < 256; ++b) byte_of[byte_level_chars()[b]] = static_cast<char>(b);
    t.decoded_.resize(n);
    for (int i = 0; i < n; ++i) {
        if (t.types_[i] == 3) continue;  // control tokens print nothing
        const std::string& s = t.tokens_[i];
        std::string bytes;
        if (t.sentencepiece_) {  // byte tokens: below
            for (size_t p = 0; p < s.size();)
                if (s.compare(p, kSpace.size(), kSpace) == 0) {
                    bytes += ' ';
                    p += kSpace.size();
                } else {
                    bytes += s[p++];
                }
            t.decoded_[i] = bytes;
            continue;
        }
        for (size_t p = 0; p < s.size();) {
            const size_t len = (static_cast<unsigned char>(s[p]) & 0x80) ? 2 : 1;
            auto it = byte_of.find(s.substr(p, len));
            if (it == byte_of.end()) {  // not byte-level text (user-defined tokens): keep as is
                bytes = s;
                break;
            }
            bytes += it->second;
            p += len;
        }
        t.decoded_[i] = bytes;
    }
    if (t.sentencepiece_)
        for (int b = 0; b < 256; ++b)
            if (t.byte_ids_[b] >= 0)
                t.decoded_[t.byte_ids_[b]] = std::string(1, static_cast<char>(b));
    return t;
}

// Byte-pair merging: repeatedly merge the adjacent pair of highest priority
// (lowest merge rank, or highest score of the merged token where the file has
// scores instead of merges; the leftmost among equals). A priority queue of
// candidate pairs over a linked list of symbols makes this O(n log n) in the
// piece's length: a naive scan per merge is O(n^2), which a single 1 MiB word
// (one HTTP request) would turn into hours.
void Tokenizer::bpe(std::vector<std::string> sym, std::vector<int>& out) const {
    const int n = static_cast<int>(sym.size());
    std::vector<int> next(n), prev(n);
    for (int i = 0; i < n; ++i) next[i] = i + 1 < n ? i + 1 : -1, prev[i] = i - 1;
    struct Pair {
        double rank;  // lower merges first
        int left, right;
        size_t bytes;  // of the merged text: a stale pair's sides have grown since
        bool operator>(const Pair& o) const {
            return rank != o.rank ? rank > o.rank : left > o.left;
        }
    };
    std::priority_queue<Pair, std::vector<Pair>, std::greater<Pair>> queue;
    auto consider = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        if (!merge_rank_.empty()) {
            const auto it = merge_rank_.find(sym[left] + " " + sym[right]);
            if (it != merge_rank_.end())
                queue.push({double(it->second), left, right, sym[left].size() + sym[right].size()});
        } else {
            const auto it = ids_.find(sym[left] + sym[right]);
            if (it != ids_.end())
                queue.push({-double(scores_[it->second]), left, right,
                            sym[left].size() + sym[right].size()});
        }
    };
    for (int i = 0; i + 1 < n; ++i) consider(i, i + 1);
    while (!queue.empty()) {
        const Pair p = queue.top();
        queue.pop();
        // Still adjacent and unchanged? (Merged symbols are emptied, and a
        // symbol only grows, so its size tells whether it changed.)
        if (sym[p.left].empty() || sym[p.right].empty() || next[p.left] != p.right ||
            sym[p.left].size() + sym[p.right].size() != p.bytes)
            continue;
        sym[p.left] += sym[p.right];
        sym[p.right].clear();
        next[p.left] = next[p.right];
        if (next[p.left] >= 0) prev[next[p.left]] = p.left;
        consider(prev[p.left], p.left);
        consider(p.left, next[p.left]);
    }
    for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) {
        auto it = ids_.find(sym[i]);
        if (it != ids_.end()) {
            out.push_back(it->second);
            continue;
        }
        // SentencePiece's byte fallback: a character outside the vocabulary as
        // its UTF-8 bytes' tokens.
        bool bytes = sentencepiece_;
        for (unsigned char b : sym[i]) bytes = bytes && byte_ids_[b] >= 0;
        if (bytes) {
            for (unsigned char b : sym[i]) out.push_back(byte_ids_[b]);
        } else if (unk_ >= 0) {
            out.push_back(unk_);
        } else {
            throw Error("tokenizer: the vocabulary has no token '" + sym[i] + "'");
        }
    }
}

int Tokenizer::find(const std::string& token) const {
    const auto it = ids_.find(token);
    return it == ids_.end() ? -1 : it->second;
}

// Text between added tokens: pre-tokenised byte-level BPE, or SentencePiece's
// spaces made visible and characters merged.
void Tokenizer::encode_plain(const std::string& text, bool at_start, std::vector<int>& ids) const {
    if (text.empty()) return;
    if (sentencepiece_) {
        std::string s = add_space_prefix_ && at_start ? kSpace : "";
        for (char c : text) s += c == ' ' ? kSpace : std::string(1, c);
        const Text t = decode_utf8(s);
        std::vector<std::string> sym;
        for (size_t i = 0; i < t.cp.size(); ++i)
            sym.push_back(s.substr(t.at[i], t.at[i + 1] - t.at[i]));
        bpe(std::move(sym), ids);
        return;
    }
    for (const std::string& piece : pre_tokenize(text, max_digits_)) {
        std::vector<std::string> sym;
        std::string mapped;
        for (unsigned char b : piece) {
            sym.push_back(byte_level_chars()[b]);
            mapped += sym.back();
        }
        // Whole pieces that are tokens skip the merge loop (LLaMA-3's ignore_merges).
        const auto it = ignore_merges_ ? ids_.find(mapped) : ids_.end();
        if (it != ids_.end() && types_[it->second] != 3) {
            ids.push_back(it->second);
            continue;
        }
        bpe(std::move(sym), ids);
    }
}

std::vector<int> Tokenizer::encode(const std::string& text, bool add_bos,
                                   bool parse_special) const {
    std::vector<int> ids;
    if (add_bos && bos_ >= 0) ids.push_back(bos_);
    // Split at added tokens: user-defined ones always, control tokens' names
    // only when asked (the longest where several match); the text between
    // them is encoded as usual.
    bool starts[256] = {};  // first bytes of those tokens: others skip the scan
    for (const std::vector<int>* list : {&user_defined_, &specials_}) {
        if (list == &specials_ && !parse_special) continue;
        for (int id : *list) starts[static_cast<unsigned char>(tokens_[id][0])] = true;
    }
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        if (!starts[static_cast<unsigned char>(text[i])]) continue;
        int match = -1;
        for (const std::vector<int>* list : {&user_defined_, &specials_}) {
            if (list == &specials_ && !parse_special) continue;
            for (int id : *list) {  // longest first
                const std::string& name = tokens_[id];
                if (match >= 0 && name.size() <= tokens_[match].size()) break;
                if (text.compare(i, name.size(), name) == 0) {
                    match = id;
                    break;
                }
            }
        }
        if (match < 0) continue;
        encode_plain(text.substr(start, i - start), start == 0, ids);
        ids.push_back(match);
        i += tokens_[match].size() - 1;
        start = i + 1;
    }
    encode_plain(text.substr(start), start == 0, ids);
    return ids;
}

std::string Tokenizer::decode(int id) const {
    if (id < 0 || id >= n_vocab())
        throw Error("tokenizer: token id " + std::to_string(id) + " is outside the vocabulary of " +
                    std::to_string(n_vocab()));
    return decoded_[id];
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
    std::string out;
    for (int id : ids) out += decode(id);
    return out;
}

bool Tokenizer::is_end_of_generation(int id) const {
    return std::find(end_ids_.begin(), end_ids_.end(), id) != end_ids_.end();
}

}  // namespace tern
