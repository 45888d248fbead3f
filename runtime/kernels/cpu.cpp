// CPU feature detection: cpuid/xgetbv on x86-64, the auxiliary vector on arm-64
// Linux. /proc/cpuinfo only supplies the model name (under qemu-user it shows
// the host's flags, so it cannot be trusted for features).
#include "tern/cpu.h"

#include <fstream>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace tern {
namespace {

#if defined(__x86_64__)
void add_x86_features(std::set<std::string>& f) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    const bool osxsave = c & (1u << 27);
    uint64_t xcr0 = 0;
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = (static_cast<uint64_t>(hi) << 32) | lo;
    }
    const bool ymm_saved = (xcr0 & 0x6) == 0x6;    // SSE and AVX state
    const bool zmm_saved = (xcr0 & 0xe6) == 0xe6;  // plus opmask, ZMM_Hi256, Hi16_ZMM
    if (c & (1u << 19)) f.insert("sse4_1");
    if (ymm_saved) {
        if (c & (1u << 28)) f.insert("avx");
        if (c & (1u << 12)) f.insert("fma");
        if (c & (1u << 29)) f.insert("f16c");
    }
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    if (ymm_saved && (b & (1u << 5))) f.insert("avx2");
    if (zmm_saved) {
        if (b & (1u << 16)) f.insert("avx512f");
        if (b & (1u << 30)) f.insert("avx512bw");
        if (b & (1u << 31)) f.insert("avx512vl");
        if (c & (1u << 11)) f.insert("avx512_vnni");
    }
    // AVX-VNNI (VEX vpdpbusd on xmm/ymm): leaf 7, sub-leaf 1, EAX bit 4.
    if (a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && ymm_saved && (a & (1u << 4)))
        f.insert("avx_vnni");
}
#endif

CpuInfo detect() {
    CpuInfo cpu;
#if defined(__x86_64__)
    cpu.arch = "x86-64";
    add_x86_features(cpu.features);
#elif defined(__aarch64__)
    cpu.arch = "arm-64";
#if defined(__linux__)
    const unsigned long hwcap = getauxval(AT_HWCAP);
    if (hwcap & HWCAP_ASIMD) cpu.features.insert("asimd");
    if (hwcap & HWCAP_ASIMDDP) cpu.features.insert("asimddp");
#elif defined(__APPLE__)
    cpu.features = {"asimd", "asimddp"};  // every Apple arm64 CPU since M1 has both
#endif
#else
    cpu.arch = "unknown";
#endif
#if defined(__APPLE__)
    cpu.os = "osx";
#else
    cpu.os = "linux";
#endif
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("model name", 0) != 0) continue;
        const size_t colon = line.find(':');
        if (colon != std::string::npos && colon + 2 <= line.size())
            cpu.model = line.substr(colon + 2);
        break;
    }
    if (cpu.model.empty()) cpu.model = "unknown CPU";
    return cpu;
}

}  // namespace

const CpuInfo& host_cpu() {
    static const CpuInfo cpu = detect();
    return cpu;
}

std::vector<std::string> missing_features(const std::string& halide_target,
                                          const std::vector<std::string>& features,
                                          const CpuInfo& cpu) {
    std::vector<std::string> missing;
    if (halide_target.rfind(cpu.arch + "-", 0) != 0)
        missing.push_back("architecture " + halide_target.substr(0, halide_target.find('-', 4)));
    else if (halide_target.find("-" + cpu.os) == std::string::npos)
        missing.push_back("operating system of " + halide_target);
    if (!missing.empty()) return missing;
    for (const std::string& f : features)
        if (!cpu.features.count(f)) missing.push_back(f);
    return missing;
}

}  // namespace tern
