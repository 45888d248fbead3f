// See tern/mapped_file.h.
#include "tern/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tern/error.h"

namespace tern {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
    std::shared_ptr<MappedFile> f(new MappedFile());
    f->path_ = path;
    f->fd_ = ::open(path.c_str(), O_RDONLY);
    if (f->fd_ < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (fstat(f->fd_, &st) != 0) throw Error(path + ": cannot stat: " + std::strerror(errno));
    f->size_ = static_cast<uint64_t>(st.st_size);
    if (f->size_ > 0) {
        void* p = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, f->fd_, 0);
        if (p == MAP_FAILED) throw Error(path + ": cannot map: " + std::strerror(errno));
        f->base_ = static_cast<const uint8_t*>(p);
    }
    return f;
}

MappedFile::~MappedFile() {
    if (base_) munmap(const_cast<uint8_t*>(base_), size_);
    if (fd_ >= 0) ::close(fd_);
}

void MappedFile::read(const uint8_t* begin, uint64_t bytes, uint8_t* dst) const {
    const uint64_t at = static_cast<uint64_t>(begin - base_);
    if (at > size_ || bytes > size_ - at)
        throw Error(path_ + ": read of " + std::to_string(bytes) + " bytes at " +
                    std::to_string(at) + " is outside the file");
    for (uint64_t done = 0; done < bytes;) {
        const ssize_t n = pread(fd_, dst + done, bytes - done, static_cast<off_t>(at + done));
        if (n <= 0) throw Error(path_ + ": read failed: " + std::strerror(errno));
        done += static_cast<uint64_t>(n);
    }
}

void MappedFile::release(const uint8_t* data, uint64_t bytes) const {
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const uint64_t begin = static_cast<uint64_t>(data - base_);
    if (begin > size_ || bytes > size_ - begin) return;
    const uint64_t first = (begin + page - 1) / page * page;
    const uint64_t last = (begin + bytes) / page * page;
    if (last > first) {
        uint8_t* p = const_cast<uint8_t*>(base_) + first;
        madvise(p, last - first, MADV_DONTNEED);
        madvise(p, last - first, MADV_RANDOM);
    }
}

}  // namespace tern
