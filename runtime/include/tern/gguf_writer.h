// Writing GGUF v3 files: metadata, then tensors whose bytes are produced one
// tensor at a time by a callback, so large models never sit in memory whole.
// The file is written to <path>.tmp and renamed over <path> when complete.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tern/gguf.h"

namespace tern::gguf {

class Writer {
public:
    void set_u32(const std::string& key, uint32_t v);
    void set_i32(const std::string& key, int32_t v);
    void set_f32(const std::string& key, float v);
    void set_bool(const std::string& key, bool v);
    void set_string(const std::string& key, const std::string& v);
    void set_strings(const std::string& key, const std::vector<std::string>& v);
    void set_i32s(const std::string& key, const std::vector<int32_t>& v);
    void set_f32s(const std::string& key, const std::vector<float>& v);

    // fill(dst) writes exactly tensor_bytes(type, dims) bytes.
    using Fill = std::function<void(uint8_t* dst)>;
    void add_tensor(const std::string& name, const std::vector<uint64_t>& dims, TensorType type,
                    Fill fill);

    // progress(done, total) is called after each tensor with bytes written.
    void write(const std::string& path,
               const std::function<void(uint64_t, uint64_t)>& progress = nullptr) const;

private:
    struct Tensor {
        std::string name;
        std::vector<uint64_t> dims;
        TensorType type;
        uint64_t bytes;
        Fill fill;
    };
    std::vector<std::pair<std::string, std::vector<uint8_t>>> kv_;  // key, encoded type + value
    std::vector<Tensor> tensors_;
    void set(const std::string& key, std::vector<uint8_t> encoded);
};

}  // namespace tern::gguf
