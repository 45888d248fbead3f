#include "table_reporter.h"

#include <cstdio>
#include <sstream>

namespace tern::bench {

namespace {

std::string strip(std::string name, const std::string& suffix) {
    const size_t at = name.rfind(suffix);
    if (at != std::string::npos && at + suffix.size() == name.size()) name.erase(at);
    return name;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::stringstream in(s);
    for (std::string p; std::getline(in, p, sep);) parts.push_back(p);
    return parts;
}

}  // namespace

void TableReporter::ReportRuns(const std::vector<Run>& runs) {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
        const std::string kind = run.run_type == Run::RT_Aggregate ? run.aggregate_name : "";
        if (!kind.empty() && kind != "median" && kind != "stddev") continue;
        const std::string name = strip(run.run_name.str(), "/real_time");
        if (!rows_.count(name)) order_.push_back(name);
        Row& row = rows_[name];
        // Without repetitions the single run stands in for the median.
        if (kind == "stddev") {
            for (const auto& [key, c] : run.counters) row.stddev[key] = c.value;
        } else if (kind == "median" || !row.has_median) {
            for (const auto& [key, c] : run.counters) row.median[key] = c.value;
            row.has_median = kind == "median";
        }
    }
}

void TableReporter::Finalize() {
    ConsoleReporter::Finalize();
    std::printf(
        "\n| test | kernel | K x N | threads | GB/s (median ± sd) | share of read bandwidth | GOPS "
        "|\n");
    std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
    for (const std::string& name : order_) {
        const Row& row = rows_.at(name);
        const std::vector<std::string> parts = split(name, '/');
        auto get = [](const std::map<std::string, double>& m, const char* key) {
            auto it = m.find(key);
            return it == m.end() ? 0.0 : it->second;
        };
        if (parts.size() == 2) {  // read_bandwidth/threads:N
            std::printf("| %s | | | %s | %.1f ± %.1f | 100%% | |\n", parts[0].c_str(),
                        split(parts[1], ':').back().c_str(), get(row.median, "GB/s"),
                        get(row.stddev, "GB/s"));
        } else if (parts.size() == 4) {
            std::printf("| %s | %s | %s | %s | %.1f ± %.1f | %.0f%% | %.1f |\n", parts[0].c_str(),
                        parts[1].c_str(), parts[2].c_str(), split(parts[3], ':').back().c_str(),
                        get(row.median, "GB/s"), get(row.stddev, "GB/s"), get(row.median, "bw%"),
                        get(row.median, "GOPS"));
        }
    }
}

}  // namespace tern::bench
