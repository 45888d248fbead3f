// See safetensors.h. Format: https://github.com/huggingface/safetensors (README).
#include "convert/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "tern/error.h"
#include "tern/gguf_tensors.h"
#include "tern/mapped_file.h"

namespace tern::convert {
namespace {

struct DtypeInfo {
    const char* name;
    Dtype dtype;
    size_t bytes;
};
const DtypeInfo kDtypes[] = {
    {"F32", Dtype::f32, 4},      {"F16", Dtype::f16, 2}, {"BF16", Dtype::bf16, 2},
    {"F64", Dtype::f64, 8},      {"U8", Dtype::u8, 1},   {"I8", Dtype::i8, 1},
    {"I16", Dtype::i16, 2},      {"I32", Dtype::i32, 4}, {"I64", Dtype::i64, 8},
    {"BOOL", Dtype::boolean, 1},
};

const DtypeInfo& info(Dtype d) {
    for (const DtypeInfo& i : kDtypes)
        if (i.dtype == d) return i;
    throw Error("unknown safetensors dtype");
}

}  // namespace

const char* dtype_name(Dtype d) { return info(d).name; }
size_t dtype_bytes(Dtype d) { return info(d).bytes; }

uint64_t SafeTensor::elements() const {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    return n;
}

std::string SafeTensor::shape_text() const {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
    SafetensorsFile f;
    f.path_ = path;
    f.map_ = MappedFile::open(path);
    const uint64_t size = f.map_->size();
    if (size < 8) throw Error(path + ": not a safetensors file (shorter than its 8-byte header)");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = header_len << 8 | f.map_->data()[i];
    if (header_len > size - 8)
        throw Error(path + ": header length " + std::to_string(header_len) + " exceeds the file (" +
                    std::to_string(size) + " bytes): not a safetensors file, or truncated");
    const char* text = reinterpret_cast<const char*>(f.map_->data() + 8);
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(text, text + header_len);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": the JSON header does not parse: " + e.what());
    }
    if (!header.is_object()) throw Error(path + ": the JSON header is not an object");
    const uint64_t data_start = 8 + header_len, data_size = size - data_start;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto& item : header.items()) {
        const std::string& name = item.key();
        const nlohmann::json& entry = item.value();
        if (name == "__metadata__") continue;
        auto bad = [&](const std::string& what) {
            return Error(path + ": tensor '" + name + "': " + what);
        };
        if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
            !entry.contains("data_offsets"))
            throw bad("expected an object with dtype, shape and data_offsets");
        SafeTensor t;
        t.name = name;
        t.file = path;
        const std::string dtype =
            entry["dtype"].is_string() ? entry["dtype"].get<std::string>() : "";
        const DtypeInfo* d = nullptr;
        for (const DtypeInfo& i : kDtypes)
            if (dtype == i.name) d = &i;
        if (!d)
            throw bad("dtype '" + dtype +
                      "' is not one tern reads (F32, F16, BF16, F64, U8, I8, I16, I32, I64, BOOL)");
        t.dtype = d->dtype;
        if (!entry["shape"].is_array()) throw bad("shape is not an array");
        for (const auto& v : entry["shape"]) {
            if (!v.is_number_unsigned()) throw bad("shape holds " + v.dump() + ", expected sizes");
            t.shape.push_back(v.get<uint64_t>());
        }
        const auto& off = entry["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
            !off[1].is_number_unsigned())
            throw bad("data_offsets is not a pair of offsets");
        const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
        if (begin > end || end > data_size)
            throw bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                      ") is outside the " + std::to_string(data_size) +
                      " data bytes (truncated file?)");
        uint64_t expected = d->bytes;
        for (uint64_t s : t.shape) {
            if (s != 0 && expected > UINT64_MAX / s)
                throw bad("shape " + t.shape_text() + " overflows");
            expected *= s;
        }
        if (end - begin != expected)
            throw bad("holds " + std::to_string(end - begin) + " bytes, expected " +
                      std::to_string(expected) + " for " + dtype + " " + t.shape_text());
        t.data = f.map_->data() + data_start + begin;
        t.bytes = end - begin;
        ranges.push_back({begin, end});
        f.tensors_.emplace(name, std::move(t));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].first < ranges[i - 1].second)
            throw Error(path + ": two tensors overlap at data offset " +
                        std::to_string(ranges[i].first));
    return f;
}

void SafetensorsFile::release(const SafeTensor& t) const { map_->release(t.data, t.bytes); }

void read_floats(const SafeTensor& t, uint64_t first, uint64_t n, float* out) {
    if (first + n > t.elements())
        throw Error(t.file + ": tensor '" + t.name + "': reading past its end");
    const uint8_t* p = t.data + first * dtype_bytes(t.dtype);
    switch (t.dtype) {
        case Dtype::f32:
            std::memcpy(out, p, n * 4);
            return;
        case Dtype::f64:
            for (uint64_t i = 0; i < n; ++i) {
                double v;
                std::memcpy(&v, p + 8 * i, 8);
                out[i] = static_cast<float>(v);
            }
            return;
        case Dtype::f16:
        case Dtype::bf16:
            for (uint64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                out[i] = t.dtype == Dtype::f16 ? gguf::f16_to_f32(h) : gguf::bf16_to_f32(h);
            }
            return;
        default:
            throw Error(t.file + ": tensor '" + t.name + "' is " + dtype_name(t.dtype) +
                        ", expected a floating-point dtype (F32, F16, BF16, F64)");
    }
}

}  // namespace tern::convert
