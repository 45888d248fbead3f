// Console output as usual, then one markdown table of the medians (with the
// standard deviation of GB/s) for README and issue notes.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace tern::bench {

class TableReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override;
    void Finalize() override;

private:
    struct Row {
        std::map<std::string, double> median, stddev;
        bool has_median = false;
    };
    std::vector<std::string> order_;
    std::map<std::string, Row> rows_;
};

}  // namespace tern::bench
