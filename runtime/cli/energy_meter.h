// Package energy from the Linux powercap RAPL counters, for joules per token
// in tern bench. Reads every top-level zone under /sys/class/powercap (or
// $TERN_POWERCAP_ROOT) named intel-rapl:N (the name AMD's RAPL driver also
// uses) and sums them, correcting for counter wrap-around.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tern::cli {

class EnergyMeter {
public:
    EnergyMeter();
    // False when the machine exposes no readable counter; why() says what was
    // looked for (a VM usually has none).
    bool available() const { return !zones_.empty(); }
    const std::string& why() const { return why_; }
    // Microjoules so far, per zone; joules_since() turns two readings into joules.
    std::vector<uint64_t> read() const;
    double joules_since(const std::vector<uint64_t>& before) const;

private:
    struct Zone {
        std::string energy_file;
        uint64_t range_uj = 0;  // the counter wraps at this value
    };
    std::vector<Zone> zones_;
    std::string why_;
};

}  // namespace tern::cli
