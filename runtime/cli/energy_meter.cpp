#include "energy_meter.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace tern::cli {
namespace {

bool read_number(const std::string& path, uint64_t& out) {
    std::ifstream in(path);
    return static_cast<bool>(in >> out);
}

}  // namespace

EnergyMeter::EnergyMeter() {
    const char* env = std::getenv("TERN_POWERCAP_ROOT");
    const std::string root = env && *env ? env : "/sys/class/powercap";
    std::vector<std::string> names;
    if (DIR* d = opendir(root.c_str())) {
        while (const dirent* e = readdir(d)) {
            const std::string name = e->d_name;
            // Top-level zones only (intel-rapl:0, not the sub-zone intel-rapl:0:0).
            if (name.rfind("intel-rapl:", 0) == 0 && name.find(':', 11) == std::string::npos)
                names.push_back(name);
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
        Zone z{root + "/" + name + "/energy_uj", 0};
        uint64_t now = 0;
        if (!read_number(z.energy_file, now)) continue;  // unreadable (permissions)
        read_number(root + "/" + name + "/max_energy_range_uj", z.range_uj);
        zones_.push_back(z);
    }
    if (zones_.empty())
        why_ = names.empty() ? "no RAPL energy counters under " + root + " (none in this VM)"
                             : "RAPL counters under " + root + " are not readable (try as root)";
}

std::vector<uint64_t> EnergyMeter::read() const {
    std::vector<uint64_t> out;
    for (const Zone& z : zones_) {
        uint64_t v = 0;
        read_number(z.energy_file, v);
        out.push_back(v);
    }
    return out;
}

double EnergyMeter::joules_since(const std::vector<uint64_t>& before) const {
    const std::vector<uint64_t> now = read();
    double uj = 0;
    for (size_t i = 0; i < zones_.size() && i < before.size(); ++i) {
        uint64_t d = now[i] - before[i];
        if (now[i] < before[i])  // wrapped; without the range the interval is lost
            d = zones_[i].range_uj > before[i] ? zones_[i].range_uj - before[i] + now[i] : 0;
        uj += static_cast<double>(d);
    }
    return uj * 1e-6;
}

}  // namespace tern::cli
