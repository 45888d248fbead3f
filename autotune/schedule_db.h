// The schedule database: schedules/<target>.yaml, read and written with yaml-cpp.
//
//   target: x86-64-avx2
//   provenance: {cpu, features, halide, tern, date}
//   kernels:
//     - {name: tmad_gemv_2560x6912_t1, family: tmad, knobs: {...}, op: gemv, k: 2560,
//        n: 6912, m: 1, threads: 1, median_us: ..., spread_pct: ..., gbs: ..., gops: ...,
//        tried: ..., model_us: ..., model_spread_pct: ...}
//
// One kernel per line in flow style (the build reads these lines, see
// cmake/TernBundles.cmake). Entries without op/k/n are the generic kernels of a
// target's defaults.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tern::tune {

struct Provenance {
    std::string cpu;
    std::vector<std::string> features;
    std::string halide;
    std::string tern;
    std::string date;
};

struct DbEntry {
    std::string name;
    std::string family;
    std::map<std::string, int> knobs;
    // Set for tuned entries:
    std::string op;  // "gemv" or "gemm"
    int k = 0, n = 0, m = 0, threads = 0;
    double median_us = 0, spread_pct = 0, gbs = 0, gops = 0;
    // Per call inside decode steps of a model (tern-tune --in-model); 0: not measured.
    double model_us = 0, model_spread_pct = 0;
    int tried = 0;
    bool tuned() const { return !op.empty(); }
};

struct ScheduleDb {
    std::string target;
    Provenance provenance;
    std::vector<DbEntry> kernels;

    const DbEntry* find(const std::string& op, int k, int n, int m, int threads) const;
};

// Throws tern::Error naming the file, the line and the key on malformed input.
ScheduleDb load_schedule_db(const std::string& path);
// A database's text; `file` names it in errors. Throws tern::Error, and no
// other exception, on any malformed input.
ScheduleDb parse_schedule_db(const std::string& yaml, const std::string& file);
// Writes to path.tmp and renames over path: readers never see half a file.
void save_schedule_db(const ScheduleDb& db, const std::string& path);

// Differences between where a database was tuned and here: empty if it matches.
std::vector<std::string> provenance_mismatches(const Provenance& db, const Provenance& here);

}  // namespace tern::tune
