// safetensors files (Hugging Face's weight format), memory-mapped and validated:
// an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the data. open() checks every entry against
// the file before anything is read; errors name the file and the tensor.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tern/mapped_file.h"

namespace tern::convert {

enum class Dtype { f32, f16, bf16, f64, u8, i8, i16, i32, i64, boolean };
const char* dtype_name(Dtype d);
size_t dtype_bytes(Dtype d);

struct SafeTensor {
    std::string name;
    Dtype dtype = Dtype::f32;
    std::vector<uint64_t> shape;  // as PyTorch's: the last dimension is contiguous
    const uint8_t* data = nullptr;
    uint64_t bytes = 0;
    std::string file;  // for messages
    uint64_t elements() const;
    std::string shape_text() const;  // "[4096, 256]"
};

class SafetensorsFile {
public:
    static SafetensorsFile open(const std::string& path);
    const std::string& path() const { return path_; }
    const std::map<std::string, SafeTensor>& tensors() const { return tensors_; }
    // Drops the pages of a tensor already read from memory, so that converting a
    // model larger than memory keeps only the tensor at hand resident.
    void release(const SafeTensor& t) const;

private:
    std::string path_;
    std::shared_ptr<const MappedFile> map_;
    std::map<std::string, SafeTensor> tensors_;
};

// Decodes elements [first, first + n) of a floating-point tensor (F32, F16, BF16,
// F64) into floats; throws naming the tensor for other dtypes.
void read_floats(const SafeTensor& t, uint64_t first, uint64_t n, float* out);

}  // namespace tern::convert
