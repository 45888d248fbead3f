// Fuzz target: a schedule database (schedules/*.yaml, or one copied from
// another machine) as tern-tune and the build read it. tern::Error naming the
// file and line is the expected answer to bad input; anything else is a finding.
#include <cstdint>
#include <string>

#include "schedule_db.h"
#include "tern/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const tern::tune::ScheduleDb db = tern::tune::parse_schedule_db(text, "fuzz.yaml");
        db.find("gemv", 2560, 2560, 1, 1);
    } catch (const tern::Error&) {
    }
    return 0;
}
