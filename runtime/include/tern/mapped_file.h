// A whole file mapped read-only into memory, shared by the readers that hand out
// pointers into it (GGUF, safetensors): the mapping lives as long as any of them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace tern {

class MappedFile {
public:
    // Throws tern::Error naming the path when it cannot be opened or mapped.
    static std::shared_ptr<const MappedFile> open(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::string& path() const { return path_; }
    const uint8_t* data() const { return base_; }
    uint64_t size() const { return size_; }
    // Copies bytes of the mapping with pread instead of touching it, so scattered
    // small reads do not map pages into the process. Throws outside the file.
    void read(const uint8_t* begin, uint64_t bytes, uint8_t* dst) const;
    // Drops the pages wholly inside [begin, begin + bytes) from memory (they are
    // read again from the file if touched): a tensor already consumed stops
    // counting against the process.
    void release(const uint8_t* begin, uint64_t bytes) const;

private:
    MappedFile() = default;
    std::string path_;
    const uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
    int fd_ = -1;
};

}  // namespace tern
