// The tensor types tern reads, one row each (see TypeTraits in tern/gguf.h).
// Facts: ggml's ggml.h (type ids, block sizes), llama.h (LLAMA_FTYPE for
// general.file_type) and bitnet.cpp's fork (I2_S).
#include <algorithm>

#include "gguf/type_codecs.h"
#include "tern/error.h"
#include "tern/gguf.h"

namespace tern::gguf {

const std::vector<TypeTraits>& tensor_types() {
    using namespace codec;
    using T = TensorType;
    // type, name, flag, block values, block bytes, trailer bytes, ternary, file type,
    // decode, encode, read as ternary, encode ternary.
    static const std::vector<TypeTraits> table = {
        {T::f32, "F32", "f32", 1, 4, 0, false, 0, decode_f32, encode_f32, read_float_ternary,
         nullptr},
        {T::f16, "F16", "f16", 1, 2, 0, false, 1, decode_f16, encode_f16, read_float_ternary,
         nullptr},
        {T::bf16, "BF16", "bf16", 1, 2, 0, false, 32, decode_bf16, encode_bf16, read_float_ternary,
         nullptr},
        {T::q8_0, "Q8_0", "q8_0", 32, 34, 0, false, 7, decode_q8_0, encode_q8_0, nullptr, nullptr},
        {T::q4_0, "Q4_0", "q4_0", 32, 18, 0, false, 2, decode_q4_0, encode_q4_0, nullptr, nullptr},
        {T::q4_k, "Q4_K", "q4_k", 256, 144, 0, false, 15, decode_q4_k, encode_q4_k, nullptr,
         nullptr},
        {T::q5_k, "Q5_K", "q5_k", 256, 176, 0, false, 17, decode_q5_k, encode_q5_k, nullptr,
         nullptr},
        {T::q6_k, "Q6_K", "q6_k", 256, 210, 0, false, 18, decode_q6_k, encode_q6_k, nullptr,
         nullptr},
        {T::tq2_0, "TQ2_0", "tq2_0", 256, 66, 0, true, 37, nullptr, nullptr, read_tq2_0,
         encode_tq2_0},
        {T::tq1_0, "TQ1_0", "tq1_0", 256, 54, 0, true, 36, nullptr, nullptr, read_tq1_0,
         encode_tq1_0},
        // bitnet.cpp's numbers (its fork's ggml.h and llama.h).
        {T::i2_s, "I2_S", "i2_s", 128, 32, 32, true, 40, nullptr, nullptr, read_i2_s, encode_i2_s},
    };
    return table;
}

const TypeTraits* find_type(uint32_t id) {
    for (const TypeTraits& t : tensor_types())
        if (static_cast<uint32_t>(t.type) == id) return &t;
    return nullptr;
}

const TypeTraits& traits(TensorType t) {
    if (const TypeTraits* row = find_type(static_cast<uint32_t>(t))) return *row;
    throw Error("tensor type " + std::to_string(static_cast<uint32_t>(t)) +
                " is not one tern reads");
}

std::string type_names(bool (*keep)(const TypeTraits&), const char* last_separator) {
    std::vector<const char*> names;
    for (const TypeTraits& t : tensor_types())
        if (keep(t)) names.push_back(t.name);
    std::string out;
    for (size_t i = 0; i < names.size(); ++i)
        out += (i == 0                  ? ""
                : i + 1 == names.size() ? last_separator
                                        : ", ") +
               std::string(names[i]);
    return out;
}

const char* tensor_type_name(TensorType t) {
    const TypeTraits* row = find_type(static_cast<uint32_t>(t));
    return row ? row->name : "unknown";
}

bool is_ternary(TensorType t) { return traits(t).ternary; }
bool is_float(TensorType t) { return !traits(t).ternary; }
uint64_t block_values(TensorType t) { return traits(t).block_values; }
uint64_t block_bytes(TensorType t) { return traits(t).block_bytes; }

TensorType parse_tensor_type(const std::string& flag, bool (*keep)(const TypeTraits&)) {
    std::string known;
    for (const TypeTraits& t : tensor_types()) {
        if (!keep(t)) continue;
        if (flag == t.flag) return t.type;
        known += (known.empty() ? "" : ", ") + std::string(t.flag);
    }
    throw Error("tensor type '" + flag + "' is not known (expected one of " + known + ")");
}

TensorType parse_float_type(const std::string& name) {
    return parse_tensor_type(name, [](const TypeTraits& t) { return !t.ternary; });
}

}  // namespace tern::gguf
