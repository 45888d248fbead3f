// GGUF files (versions 2 and 3), memory-mapped and validated before use.
//
// open() checks every count, length, type, shape, offset and size against the
// file before anything is used; any violation throws tern::Error naming the
// file, the key or tensor, and what was expected. Tensor data stays in the
// mapping: nothing is copied until a tensor is decoded or repacked.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tern/mapped_file.h"

namespace tern::gguf {

enum class ValueType : uint32_t {
    u8 = 0,
    i8 = 1,
    u16 = 2,
    i16 = 3,
    u32 = 4,
    i32 = 5,
    f32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    u64 = 10,
    i64 = 11,
    f64 = 12,
};
const char* value_type_name(ValueType t);

// ggml tensor types tern reads. I2_S is bitnet.cpp's type (its fork's number).
enum class TensorType : uint32_t {
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q8_0 = 8,
    q4_k = 12,
    q5_k = 13,
    q6_k = 14,
    bf16 = 30,
    tq1_0 = 34,
    tq2_0 = 35,
    i2_s = 36,
};

class File;
struct TensorInfo;
struct TernaryTensor;

// Everything tern knows of a tensor type, one row per type (as ggml's
// type_traits); adding a type is a row in gguf_types.cpp plus its codecs.
struct TypeTraits {
    TensorType type;
    const char* name;  // "TQ2_0", as ggml prints it
    const char* flag;  // "tq2_0", as tern's flags spell it
    uint64_t block_values, block_bytes;
    uint64_t trailer_bytes;  // after the last block (I2_S's 32-byte scale record)
    bool ternary;            // ternary codes; otherwise values that decode to floats
    uint32_t file_type;      // general.file_type of a model whose matrices are this type (0: none)
    // Float types: k values (a multiple of block_values) decoded bit-identically
    // to ggml, and tern's own encoder.
    void (*decode)(const uint8_t* bytes, uint64_t k, float* out);
    void (*encode)(const float* x, uint64_t k, uint8_t* out);
    // Types that can hold a ternary matrix (the ternary ones, and F32/F16/BF16
    // as converters write them before quantising): its scale and row decoder
    // (see ternary_tensor), and one row's encoder where tern writes the type.
    void (*read_ternary)(const File& f, const TensorInfo& t, TernaryTensor& out);
    void (*encode_ternary)(const int8_t* w, int k, float scale, uint8_t* out);
};
// Every type tern reads: float types, then ternary ones.
const std::vector<TypeTraits>& tensor_types();
const TypeTraits& traits(TensorType t);
const TypeTraits* find_type(uint32_t id);  // nullptr when tern does not read it
// The names of the types for which keep(row) holds, for messages: "F32, F16 or BF16".
std::string type_names(bool (*keep)(const TypeTraits&), const char* last_separator = " or ");

const char* tensor_type_name(TensorType t);
bool is_ternary(TensorType t);
// Types whose values decode to floats (decode_values).
bool is_float(TensorType t);
// The type a flag names ("f16", "q6_k", "tq2_0", ...) among those for which
// keep(row) holds; throws listing their flag names otherwise.
TensorType parse_tensor_type(const std::string& flag, bool (*keep)(const TypeTraits&));
// The float types (is_float) by flag name.
TensorType parse_float_type(const std::string& name);
// A shape for messages: "[2560, 6912]".
std::string dims_text(const std::vector<uint64_t>& dims);
// Values per block and bytes per block of a type (1 and 4 for F32, 256 and 66
// for TQ2_0, ...).
uint64_t block_values(TensorType t);
uint64_t block_bytes(TensorType t);
// Bytes of a tensor of this type and shape (I2_S adds its 32-byte scale
// record). dims[0] must be a multiple of block_values(t).
uint64_t tensor_bytes(TensorType t, const std::vector<uint64_t>& dims);

// One metadata value. Scalars are widened into u, i or f; strings and arrays
// point into the mapping.
struct Value {
    ValueType type = ValueType::u8;
    uint64_t u = 0;  // unsigned integers and bool
    int64_t i = 0;   // signed integers
    double f = 0;    // f32, f64
    std::string_view str;
    // Arrays (one level): element type and count; strings listed, numbers raw.
    ValueType elem_type = ValueType::u8;
    uint64_t count = 0;
    std::vector<std::string_view> strings;
    const uint8_t* raw = nullptr;
};

struct TensorInfo {
    std::string name;
    std::vector<uint64_t> dims;  // ggml order: dims[0] is contiguous
    TensorType type = TensorType::f32;
    uint64_t offset = 0;  // from the start of the data section
    uint64_t bytes = 0;   // size implied by type and shape
    const uint8_t* data = nullptr;
    uint64_t elements() const;
    uint64_t rows() const { return dims.empty() ? 0 : elements() / dims[0]; }
};

class File {
public:
    // Maps and validates path; throws tern::Error on any problem.
    static File open(const std::string& path);

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    uint64_t size() const;
    uint64_t alignment() const { return alignment_; }

    const std::map<std::string, Value>& metadata() const { return kv_; }
    bool has(const std::string& key) const { return kv_.count(key) != 0; }
    // Typed getters: throw naming the key when it is missing or of another
    // type (any integer type is accepted where the value fits).
    uint64_t get_uint(const std::string& key) const;
    int64_t get_int(const std::string& key) const;
    float get_float(const std::string& key) const;
    bool get_bool(const std::string& key) const;
    std::string get_string(const std::string& key) const;
    const std::vector<std::string_view>& get_strings(const std::string& key) const;
    std::vector<int32_t> get_int32s(const std::string& key) const;
    std::vector<float> get_floats(const std::string& key) const;  // an array of f32

    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find_tensor(const std::string& name) const;
    // Throws "missing tensor" naming the file when absent.
    const TensorInfo& tensor(const std::string& name) const;
    // Drops the mapped pages of a tensor from memory (they are read again from
    // the file, a page at a time, if touched): after repacking, the file's copy
    // is not kept too.
    void release(const TensorInfo& t) const;
    // The same for any byte range inside the mapping (pages wholly inside it).
    void release(const uint8_t* begin, uint64_t bytes) const;
    // Copies bytes of the mapping with pread instead of touching it, so scattered
    // small reads (embedding rows) do not map pages into the process.
    void read(const uint8_t* begin, uint64_t bytes, uint8_t* dst) const;

private:
    std::shared_ptr<const MappedFile> map_;
    std::string path_;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    std::map<std::string, Value> kv_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t> by_name_;

    const Value& value(const std::string& key, const char* expected) const;
};

}  // namespace tern::gguf
