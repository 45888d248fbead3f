// What the fuzz targets share: inputs handed to readers that take a path, and a
// small model file whose tokenizer the text targets use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tern::fuzz {

// An in-memory file (memfd) holding the latest input, reachable by path
// (/proc/self/fd/N) for readers that open and map files themselves.
class MemoryFile {
public:
    MemoryFile();
    ~MemoryFile();
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;
    // Replaces the contents with data and returns the path.
    const std::string& write(const uint8_t* data, size_t size);

private:
    int fd_ = -1;
    std::string path_;
};

// The path of a tiny model written once per process (hidden size 32, one
// layer) with a byte-level BPE vocabulary: LLaMA-3's own when the build found
// it (TERN_LLAMA3_VOCAB), else the synthetic models' placeholder of 1000 tokens.
const std::string& tokenizer_model_path();

}  // namespace tern::fuzz
