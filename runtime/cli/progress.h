// A progress bar on stderr: redrawn in place on a terminal, a line per 10%
// otherwise (logs stay readable).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

namespace tern::cli {

class Progress {
public:
    explicit Progress(std::string label) : label_(std::move(label)), tty_(isatty(2)) {}
    void update(double done, double total) {
        const int pct = total > 0 ? static_cast<int>(100.0 * done / total) : 100;
        if (pct == last_) return;
        if (tty_) {
            const int filled = pct * 30 / 100;
            std::fprintf(stderr, "\r%s [%s%s] %3d%%", label_.c_str(),
                         std::string(filled, '#').c_str(), std::string(30 - filled, '.').c_str(),
                         pct);
            if (pct >= 100) std::fprintf(stderr, "\n");
        } else if (pct / 10 != last_ / 10 || pct >= 100) {
            std::fprintf(stderr, "%s %d%%\n", label_.c_str(), pct);
        }
        last_ = pct;
    }

private:
    std::string label_;
    bool tty_;
    int last_ = -1;
};

}  // namespace tern::cli
