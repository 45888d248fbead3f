// GGUF v3 writer (see tern/gguf_writer.h).
#include "tern/gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "tern/error.h"

namespace tern::gguf {
namespace {

constexpr uint64_t kAlignment = 32;

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
    const size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
    put<uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

std::vector<uint8_t> typed(ValueType t) {
    std::vector<uint8_t> out;
    put<uint32_t>(out, static_cast<uint32_t>(t));
    return out;
}

}  // namespace

void Writer::set(const std::string& key, std::vector<uint8_t> encoded) {
    for (auto& kv : kv_)
        if (kv.first == key) {
            kv.second = std::move(encoded);
            return;
        }
    kv_.emplace_back(key, std::move(encoded));
}

namespace {
// One scalar value: its type tag, then its bytes.
template <typename T>
std::vector<uint8_t> scalar(ValueType t, T v) {
    auto e = typed(t);
    put(e, v);
    return e;
}
// An array of fixed-size values: the array tag, the element type, the count,
// then the values' bytes.
template <typename T>
std::vector<uint8_t> array(ValueType element, const std::vector<T>& v) {
    auto e = typed(ValueType::array);
    put<uint32_t>(e, static_cast<uint32_t>(element));
    put<uint64_t>(e, v.size());
    const size_t at = e.size();
    e.resize(at + sizeof(T) * v.size());
    std::memcpy(e.data() + at, v.data(), sizeof(T) * v.size());
    return e;
}
}  // namespace

void Writer::set_u32(const std::string& key, uint32_t v) { set(key, scalar(ValueType::u32, v)); }
void Writer::set_i32(const std::string& key, int32_t v) { set(key, scalar(ValueType::i32, v)); }
void Writer::set_f32(const std::string& key, float v) { set(key, scalar(ValueType::f32, v)); }
void Writer::set_bool(const std::string& key, bool v) {
    set(key, scalar(ValueType::boolean, static_cast<uint8_t>(v ? 1 : 0)));
}

void Writer::set_string(const std::string& key, const std::string& v) {
    auto e = typed(ValueType::string);
    put_string(e, v);
    set(key, std::move(e));
}

void Writer::set_strings(const std::string& key, const std::vector<std::string>& v) {
    auto e = typed(ValueType::array);
    put<uint32_t>(e, static_cast<uint32_t>(ValueType::string));
    put<uint64_t>(e, v.size());
    for (const std::string& s : v) put_string(e, s);
    set(key, std::move(e));
}

void Writer::set_i32s(const std::string& key, const std::vector<int32_t>& v) {
    set(key, array(ValueType::i32, v));
}

void Writer::set_f32s(const std::string& key, const std::vector<float>& v) {
    set(key, array(ValueType::f32, v));
}

void Writer::add_tensor(const std::string& name, const std::vector<uint64_t>& dims, TensorType type,
                        Fill fill) {
    if (dims.empty() || dims[0] % block_values(type) != 0)
        throw Error("gguf writer: tensor '" + name + "': rows must be a multiple of " +
                    std::to_string(block_values(type)) + " values for " + tensor_type_name(type));
    tensors_.push_back({name, dims, type, tensor_bytes(type, dims), std::move(fill)});
}

void Writer::write(const std::string& path,
                   const std::function<void(uint64_t, uint64_t)>& progress) const {
    std::vector<uint8_t> header;
    put<uint32_t>(header, 0x46554747u);  // "GGUF"
    put<uint32_t>(header, 3);
    put<uint64_t>(header, tensors_.size());
    put<uint64_t>(header, kv_.size() + 1);
    put_string(header, "general.alignment");
    put<uint32_t>(header, static_cast<uint32_t>(ValueType::u32));
    put<uint32_t>(header, kAlignment);
    for (const auto& [key, value] : kv_) {
        put_string(header, key);
        header.insert(header.end(), value.begin(), value.end());
    }
    auto padded = [](uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; };
    uint64_t offset = 0, total = 0;
    for (const Tensor& t : tensors_) {
        put_string(header, t.name);
        put<uint32_t>(header, static_cast<uint32_t>(t.dims.size()));
        for (uint64_t d : t.dims) put<uint64_t>(header, d);
        put<uint32_t>(header, static_cast<uint32_t>(t.type));
        put<uint64_t>(header, offset);
        offset += padded(t.bytes);
        total += t.bytes;
    }
    header.resize(padded(header.size()), 0);

    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Error(tmp + ": cannot create: " + std::strerror(errno));
    auto fail = [&](const std::string& what) {
        std::fclose(f);
        std::remove(tmp.c_str());
        throw Error(tmp + ": " + what + ": " + std::strerror(errno));
    };
    if (std::fwrite(header.data(), 1, header.size(), f) != header.size()) fail("write failed");
    std::vector<uint8_t> buf;
    uint64_t done = 0;
    for (const Tensor& t : tensors_) {
        buf.assign(padded(t.bytes), 0);
        try {
            t.fill(buf.data());
        } catch (...) {  // a source that cannot be read leaves no partial file behind
            std::fclose(f);
            std::remove(tmp.c_str());
            throw;
        }
        if (std::fwrite(buf.data(), 1, buf.size(), f) != buf.size()) fail("write failed");
        done += t.bytes;
        if (progress) progress(done, total);
    }
    if (std::fflush(f) != 0 || std::fclose(f) != 0) {
        std::remove(tmp.c_str());
        throw Error(tmp + ": write failed: " + std::strerror(errno));
    }
    std::filesystem::rename(tmp, path);
}

}  // namespace tern::gguf
