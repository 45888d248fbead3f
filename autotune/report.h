// A report a person can look at: per tuned kernel, every candidate's time over
// the tuning time, the rejected ones, and the winner, as SVG inside one HTML page.
#pragma once

#include <string>
#include <vector>

#include "search.h"

namespace tern::tune {

struct ProblemReport {
    std::string title;  // e.g. "gemv 2560x6912 t1"
    SearchResult result;
    std::string note;  // e.g. comparisons against other schedules
};

// Writes path atomically (path.tmp, then rename).
void write_report(const std::string& path, const std::string& heading,
                  const std::vector<ProblemReport>& problems);

}  // namespace tern::tune
