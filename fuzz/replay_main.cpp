// Runs a fuzz target's entry point once per input file, without libFuzzer: the
// regression tests replay saved inputs (tests/data/fuzz/<target>/) in every
// build, sanitized or not. Arguments are files or directories of files.
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

// Inputs that make tern allocate gigabytes fail here as under libFuzzer
// (-malloc_limit_mb): ASan refuses single allocations over 2 GiB; a plain
// build gets a 4 GiB address-space limit, so the allocation throws.
#if defined(__SANITIZE_ADDRESS__)
#define TERN_REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TERN_REPLAY_ASAN 1
#endif
#endif
#ifdef TERN_REPLAY_ASAN
extern "C" const char* __asan_default_options() { return "max_allocation_size_mb=2048"; }
#endif

int main(int argc, char** argv) {
#ifndef TERN_REPLAY_ASAN
    const rlimit limit{rlim_t(4) << 30, rlim_t(4) << 30};
    setrlimit(RLIMIT_AS, &limit);
#endif
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    std::vector<std::filesystem::path> inputs;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path p(argv[i]);
        if (std::filesystem::is_directory(p)) {
            for (const auto& e : std::filesystem::directory_iterator(p))
                if (e.is_regular_file()) inputs.push_back(e.path());
        } else if (std::filesystem::exists(p)) {
            inputs.push_back(p);
        } else {
            std::fprintf(stderr, "%s: no such file or directory\n", argv[i]);
            return 2;
        }
    }
    for (const auto& p : inputs) {
        std::ifstream f(p, std::ios::binary);
        const std::vector<char> bytes{std::istreambuf_iterator<char>(f), {}};
        std::fprintf(stderr, "replaying %s (%zu bytes)\n", p.c_str(), bytes.size());
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    }
    std::printf("replayed %zu inputs\n", inputs.size());
    return 0;
}
