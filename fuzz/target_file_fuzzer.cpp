// Fuzz target: a target file (targets/*.yaml) as tern-tune reads it, then the
// choice of a host target among it and the checked-in ones. tern::Error naming
// the file is the expected answer to bad input; anything else is a finding.
#include <cstdint>
#include <string>
#include <vector>

#include "target_info.h"
#include "tern/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const std::vector<tern::tune::TargetInfo> targets{
            tern::tune::parse_target(text, "fuzz.yaml")};
        std::string why;
        tern::tune::choose_host_target(targets, tern::tune::detect_host_cpu(), &why);
    } catch (const tern::Error&) {
    }
    return 0;
}
