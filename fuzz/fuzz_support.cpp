#include "fuzz_support.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "tern/synthetic_model.h"

namespace tern::fuzz {

MemoryFile::MemoryFile() {
    fd_ = memfd_create("tern-fuzz-input", 0);
    if (fd_ < 0) {
        std::perror("memfd_create");
        std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemoryFile::~MemoryFile() { close(fd_); }

const std::string& MemoryFile::write(const uint8_t* data, size_t size) {
    // Overwrite, then cut to size: truncating to 0 first would free and
    // re-zero every page on each input.
    if ((size && pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size)) ||
        ftruncate(fd_, static_cast<off_t>(size)) != 0) {
        std::perror("writing the fuzz input");
        std::abort();
    }
    return path_;
}

const std::string& tokenizer_model_path() {
    static const std::string path = [] {
        const std::string p = std::filesystem::temp_directory_path().string() +
                              "/tern-fuzz-tokenizer-" + std::to_string(getpid()) + ".gguf";
        ModelShape shape = model_preset("tiny");
        shape.n_embd = 32;
        shape.n_ff = 32;
        shape.n_layer = 1;
        shape.n_head = 2;
        shape.n_head_kv = 1;
        shape.n_vocab = 1000;
        SyntheticModelOptions o;
        o.weight_type = gguf::TensorType::f16;
#ifdef TERN_LLAMA3_VOCAB
        if (std::filesystem::exists(std::string(TERN_LLAMA3_VOCAB) + "/tokens.txt"))
            o.vocab_dir = TERN_LLAMA3_VOCAB;
#endif
        write_synthetic_model(p, shape, o);
        std::atexit([] { std::remove(tokenizer_model_path().c_str()); });
        return p;
    }();
    return path;
}

}  // namespace tern::fuzz
