// GGUF parsing with bounds checks on every read (see tern/gguf.h).

#include <algorithm>
#include <cstring>

#include "tern/error.h"
#include "tern/gguf.h"

namespace tern::gguf {

namespace {

constexpr uint64_t kMaxElements = uint64_t{1} << 50;

// What a type id tern does not read is, where that helps the user.
std::string unknown_type_note(uint32_t t) {
    if (t == 37 || t == 38)
        return std::string(" (bitnet.cpp's ") + (t == 37 ? "TL1" : "TL2") +
               ", a layout its build generates for one machine's kernels; convert the model "
               "with bitnet.cpp's --quant-type i2_s, or llama.cpp's TQ1_0/TQ2_0)";
    return "";
}

size_t value_size(ValueType t) {
    switch (t) {
        case ValueType::u8:
        case ValueType::i8:
        case ValueType::boolean:
            return 1;
        case ValueType::u16:
        case ValueType::i16:
            return 2;
        case ValueType::u32:
        case ValueType::i32:
        case ValueType::f32:
            return 4;
        case ValueType::u64:
        case ValueType::i64:
        case ValueType::f64:
            return 8;
        case ValueType::string:
            return 8;  // at least its length
        case ValueType::array:
            return 12;  // at least type and count
    }
    return 1;
}

// Reads little-endian values with a bounds check each; errors name the file and
// what was being read.
class Cursor {
public:
    Cursor(const std::string& path, const uint8_t* base, uint64_t size)
        : path_(path), base_(base), size_(size) {}

    uint64_t pos() const { return pos_; }
    uint64_t left() const { return size_ - pos_; }
    [[noreturn]] void fail(const std::string& what) const { throw Error(path_ + ": " + what); }

    void need(uint64_t n, const std::string& what) const {
        if (n > left())
            fail("truncated: " + what + " at offset " + std::to_string(pos_) + " needs " +
                 std::to_string(n) + " bytes, only " + std::to_string(left()) + " remain");
    }
    template <typename T>
    T read(const std::string& what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, base_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::string_view string(const std::string& what) {
        const uint64_t n = read<uint64_t>(what + " length");
        need(n, what + " (" + std::to_string(n) + " bytes)");
        std::string_view s(reinterpret_cast<const char*>(base_ + pos_), n);
        pos_ += n;
        return s;
    }
    const uint8_t* skip(uint64_t n, const std::string& what) {
        need(n, what);
        const uint8_t* p = base_ + pos_;
        pos_ += n;
        return p;
    }

private:
    const std::string& path_;
    const uint8_t* base_;
    uint64_t size_;
    uint64_t pos_ = 0;
};

ValueType read_value_type(Cursor& c, const std::string& what) {
    const uint32_t t = c.read<uint32_t>(what);
    if (t > static_cast<uint32_t>(ValueType::f64))
        c.fail(what + " is " + std::to_string(t) + ", expected a GGUF value type 0-12");
    return static_cast<ValueType>(t);
}

void read_scalar(Cursor& c, Value& v, const std::string& what) {
    switch (v.type) {
        case ValueType::u8:
            v.u = c.read<uint8_t>(what);
            break;
        case ValueType::i8:
            v.i = c.read<int8_t>(what);
            break;
        case ValueType::u16:
            v.u = c.read<uint16_t>(what);
            break;
        case ValueType::i16:
            v.i = c.read<int16_t>(what);
            break;
        case ValueType::u32:
            v.u = c.read<uint32_t>(what);
            break;
        case ValueType::i32:
            v.i = c.read<int32_t>(what);
            break;
        case ValueType::u64:
            v.u = c.read<uint64_t>(what);
            break;
        case ValueType::i64:
            v.i = c.read<int64_t>(what);
            break;
        case ValueType::f32:
            v.f = c.read<float>(what);
            break;
        case ValueType::f64:
            v.f = c.read<double>(what);
            break;
        case ValueType::boolean: {
            const uint8_t b = c.read<uint8_t>(what);
            if (b > 1)
                c.fail(what + " is a bool of value " + std::to_string(b) + ", expected 0 or 1");
            v.u = b;
            break;
        }
        case ValueType::string:
            v.str = c.string(what);
            break;
        case ValueType::array:
            break;
    }
}

Value read_value(Cursor& c, const std::string& key) {
    const std::string what = "value of key '" + key + "'";
    Value v;
    v.type = read_value_type(c, "type of key '" + key + "'");
    if (v.type != ValueType::array) {
        read_scalar(c, v, what);
        return v;
    }
    v.elem_type = read_value_type(c, "element type of array '" + key + "'");
    if (v.elem_type == ValueType::array)
        c.fail("key '" + key + "': arrays of arrays are not supported");
    v.count = c.read<uint64_t>("length of array '" + key + "'");
    const uint64_t min_bytes = value_size(v.elem_type);
    if (v.count > c.left() / min_bytes)
        c.fail("key '" + key + "': array of " + std::to_string(v.count) + " " +
               value_type_name(v.elem_type) + " values cannot fit in the " +
               std::to_string(c.left()) + " bytes left (truncated or corrupt file)");
    if (v.elem_type == ValueType::string) {
        v.strings.reserve(v.count);
        for (uint64_t i = 0; i < v.count; ++i)
            v.strings.push_back(
                c.string("element " + std::to_string(i) + " of array '" + key + "'"));
    } else {
        v.raw = c.skip(v.count * min_bytes, "array '" + key + "'");
        if (v.elem_type == ValueType::boolean)
            for (uint64_t i = 0; i < v.count; ++i)
                if (v.raw[i] > 1)
                    c.fail("key '" + key + "': element " + std::to_string(i) + " is not a bool");
    }
    return v;
}

}  // namespace

std::string dims_text(const std::vector<uint64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

const char* value_type_name(ValueType t) {
    static const char* names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                  "bool", "string", "array", "u64", "i64", "f64"};
    const auto i = static_cast<uint32_t>(t);
    return i < 13 ? names[i] : "unknown";
}

uint64_t tensor_bytes(TensorType t, const std::vector<uint64_t>& dims) {
    uint64_t elements = 1;
    for (uint64_t d : dims) elements *= d;
    const TypeTraits& row = traits(t);
    return elements / row.block_values * row.block_bytes + row.trailer_bytes;
}

uint64_t TensorInfo::elements() const {
    uint64_t n = 1;
    for (uint64_t d : dims) n *= d;
    return n;
}

File File::open(const std::string& path) {
    File f;
    f.path_ = path;
    f.map_ = MappedFile::open(path);

    Cursor c(f.path_, f.map_->data(), f.map_->size());
    const uint32_t magic = c.read<uint32_t>("magic");
    if (magic != 0x46554747u) {  // "GGUF" read little-endian
        char m[5] = {};
        std::memcpy(m, &magic, 4);
        for (char& ch : m)
            if (ch && (ch < 32 || ch > 126)) ch = '?';
        c.fail(std::string("not a GGUF file: magic is '") + m + "', expected 'GGUF'");
    }
    f.version_ = c.read<uint32_t>("version");
    if (f.version_ != 2 && f.version_ != 3)
        c.fail("GGUF version " + std::to_string(f.version_) + " is not supported (expected 2 or 3" +
               (f.version_ > 0xffff ? "; a big-endian file?" : "") + ")");
    const uint64_t n_tensors = c.read<uint64_t>("tensor count");
    const uint64_t n_kv = c.read<uint64_t>("metadata count");
    // Minimum encodings: a key/value pair 8 + 1 + 4 + 1 bytes, a tensor info 8 + 1 + 4 + 8 + 4 + 8.
    if (n_kv > c.left() / 14)
        c.fail("metadata count " + std::to_string(n_kv) + " cannot fit in a file of " +
               std::to_string(f.size()) + " bytes (truncated or corrupt file)");
    if (n_tensors > c.left() / 33)
        c.fail("tensor count " + std::to_string(n_tensors) + " cannot fit in a file of " +
               std::to_string(f.size()) + " bytes (truncated or corrupt file)");

    for (uint64_t i = 0; i < n_kv; ++i) {
        const std::string key(c.string("key of metadata entry " + std::to_string(i)));
        if (key.empty()) c.fail("metadata entry " + std::to_string(i) + " has an empty key");
        if (f.kv_.count(key)) c.fail("key '" + key + "' appears twice");
        f.kv_[key] = read_value(c, key);
    }
    if (f.has("general.alignment")) {
        const uint64_t a = f.get_uint("general.alignment");
        if (a == 0 || (a & (a - 1)) != 0 || a > 65536)
            c.fail("key 'general.alignment' is " + std::to_string(a) +
                   ", expected a power of two up to 65536");
        f.alignment_ = a;
    }

    for (uint64_t i = 0; i < n_tensors; ++i) {
        TensorInfo t;
        t.name = std::string(c.string("name of tensor " + std::to_string(i)));
        if (t.name.empty()) c.fail("tensor " + std::to_string(i) + " has an empty name");
        const std::string what = "tensor '" + t.name + "'";
        if (f.by_name_.count(t.name)) c.fail(what + " appears twice");
        const uint32_t n_dims = c.read<uint32_t>("dimension count of " + what);
        if (n_dims < 1 || n_dims > 4)
            c.fail(what + " has " + std::to_string(n_dims) + " dimensions, expected 1 to 4");
        uint64_t elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const uint64_t n = c.read<uint64_t>("dimension " + std::to_string(d) + " of " + what);
            if (n == 0 || n > kMaxElements || elements > kMaxElements / n)
                c.fail(what + ": dimension " + std::to_string(d) + " is " + std::to_string(n) +
                       ", expected 1 to 2^50 elements in all");
            elements *= n;
            t.dims.push_back(n);
        }
        const uint32_t type = c.read<uint32_t>("type of " + what);
        if (!find_type(type))
            c.fail(what + " has ggml type " + std::to_string(type) + unknown_type_note(type) +
                   ", which tern does not read (F32 0, F16 1, Q4_0 2, Q8_0 8, Q4_K 12, Q5_K 13, "
                   "Q6_K 14, BF16 30, TQ1_0 34, TQ2_0 35, I2_S 36)");
        t.type = static_cast<TensorType>(type);
        t.offset = c.read<uint64_t>("data offset of " + what);
        if (t.dims[0] % block_values(t.type) != 0)
            c.fail(what + " is " + tensor_type_name(t.type) + " with rows of " +
                   std::to_string(t.dims[0]) + " values, expected a multiple of " +
                   std::to_string(block_values(t.type)));
        t.bytes = tensor_bytes(t.type, t.dims);
        f.by_name_[t.name] = f.tensors_.size();
        f.tensors_.push_back(std::move(t));
    }

    const uint64_t data_start = (c.pos() + f.alignment_ - 1) / f.alignment_ * f.alignment_;
    if (data_start > f.size() && !f.tensors_.empty())
        c.fail("truncated: the tensor data section would start at " + std::to_string(data_start) +
               ", past the end of the file");
    std::vector<const TensorInfo*> by_offset;
    for (TensorInfo& t : f.tensors_) {
        const std::string what = "tensor '" + t.name + "'";
        if (t.offset % f.alignment_ != 0)
            c.fail(what + ": data offset " + std::to_string(t.offset) +
                   " is not a multiple of the alignment " + std::to_string(f.alignment_));
        // In this order no sum can overflow: data_start <= size was checked above.
        if (t.offset > f.size() - data_start || t.bytes > f.size() - data_start - t.offset)
            c.fail(what + " (" + tensor_type_name(t.type) + " " + dims_text(t.dims) + ", " +
                   std::to_string(t.bytes) + " bytes at data offset " + std::to_string(t.offset) +
                   ") ends past the end of the file (" + std::to_string(f.size()) +
                   " bytes): truncated or wrong offset");
        t.data = f.map_->data() + data_start + t.offset;
        by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i)
        if (by_offset[i - 1]->offset + by_offset[i - 1]->bytes > by_offset[i]->offset)
            c.fail("tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name +
                   "' overlap");
    return f;
}

uint64_t File::size() const { return map_ ? map_->size() : 0; }

void File::release(const TensorInfo& t) const { release(t.data, t.bytes); }

void File::read(const uint8_t* begin, uint64_t bytes, uint8_t* dst) const {
    map_->read(begin, bytes, dst);
}

void File::release(const uint8_t* data, uint64_t bytes) const { map_->release(data, bytes); }

const Value& File::value(const std::string& key, const char* expected) const {
    auto it = kv_.find(key);
    if (it == kv_.end()) throw Error(path_ + ": missing key '" + key + "' (" + expected + ")");
    return it->second;
}

uint64_t File::get_uint(const std::string& key) const {
    const Value& v = value(key, "an unsigned integer");
    switch (v.type) {
        case ValueType::u8:
        case ValueType::u16:
        case ValueType::u32:
        case ValueType::u64:
            return v.u;
        case ValueType::i8:
        case ValueType::i16:
        case ValueType::i32:
        case ValueType::i64:
            if (v.i >= 0) return static_cast<uint64_t>(v.i);
            throw Error(path_ + ": key '" + key + "' is " + std::to_string(v.i) +
                        ", expected a non-negative integer");
        default:
            throw Error(path_ + ": key '" + key + "' is a " + value_type_name(v.type) +
                        ", expected an unsigned integer");
    }
}

int64_t File::get_int(const std::string& key) const {
    const Value& v = value(key, "an integer");
    switch (v.type) {
        case ValueType::i8:
        case ValueType::i16:
        case ValueType::i32:
        case ValueType::i64:
            return v.i;
        case ValueType::u8:
        case ValueType::u16:
        case ValueType::u32:
            return static_cast<int64_t>(v.u);
        case ValueType::u64:
            if (v.u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.u);
            [[fallthrough]];
        default:
            throw Error(path_ + ": key '" + key + "' is a " + value_type_name(v.type) +
                        ", expected an integer");
    }
}

float File::get_float(const std::string& key) const {
    const Value& v = value(key, "a number");
    if (v.type == ValueType::f32 || v.type == ValueType::f64) return static_cast<float>(v.f);
    throw Error(path_ + ": key '" + key + "' is a " + value_type_name(v.type) + ", expected f32");
}

bool File::get_bool(const std::string& key) const {
    const Value& v = value(key, "a bool");
    if (v.type == ValueType::boolean) return v.u != 0;
    throw Error(path_ + ": key '" + key + "' is a " + value_type_name(v.type) + ", expected bool");
}

std::string File::get_string(const std::string& key) const {
    const Value& v = value(key, "a string");
    if (v.type == ValueType::string) return std::string(v.str);
    throw Error(path_ + ": key '" + key + "' is a " + value_type_name(v.type) +
                ", expected string");
}

const std::vector<std::string_view>& File::get_strings(const std::string& key) const {
    const Value& v = value(key, "an array of strings");
    if (v.type == ValueType::array && v.elem_type == ValueType::string) return v.strings;
    throw Error(path_ + ": key '" + key + "' is " +
                (v.type == ValueType::array
                     ? std::string("an array of ") + value_type_name(v.elem_type)
                     : std::string("a ") + value_type_name(v.type)) +
                ", expected an array of strings");
}

std::vector<int32_t> File::get_int32s(const std::string& key) const {
    const Value& v = value(key, "an array of integers");
    if (v.type == ValueType::array &&
        (v.elem_type == ValueType::i32 || v.elem_type == ValueType::u32)) {
        std::vector<int32_t> out(v.count);
        std::memcpy(out.data(), v.raw, v.count * 4);
        return out;
    }
    if (v.type == ValueType::array &&
        (v.elem_type == ValueType::i8 || v.elem_type == ValueType::u8)) {
        std::vector<int32_t> out(v.count);
        for (uint64_t i = 0; i < v.count; ++i)
            out[i] = v.elem_type == ValueType::i8 ? static_cast<int8_t>(v.raw[i]) : v.raw[i];
        return out;
    }
    throw Error(path_ + ": key '" + key + "' is not an array of 32-bit integers");
}

std::vector<float> File::get_floats(const std::string& key) const {
    const Value& v = value(key, "an array of floats");
    if (v.type != ValueType::array || v.elem_type != ValueType::f32)
        throw Error(path_ + ": key '" + key + "' is not an array of 32-bit floats");
    std::vector<float> out(v.count);
    std::memcpy(out.data(), v.raw, v.count * 4);
    return out;
}

const TensorInfo* File::find_tensor(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& File::tensor(const std::string& name) const {
    const TensorInfo* t = find_tensor(name);
    if (!t) throw Error(path_ + ": missing tensor '" + name + "'");
    return *t;
}

}  // namespace tern::gguf
