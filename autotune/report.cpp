#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "tern/error.h"

namespace tern::tune {

namespace {

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else if (c == '&')
            out += "&amp;";
        else if (c == '"')
            out += "&quot;";
        else
            out += c;
    }
    return out;
}

const char* colour(Family f) {
    switch (f) {
        case Family::tmad:
            return "#1f77b4";
        case Family::tlut:
            return "#2ca02c";
        case Family::tadd:
            return "#ff7f0e";
        default:
            break;
    }
    return "#777";
}

// Time on x (seconds into the search), kernel time on a log y axis.
std::string plot(const ProblemReport& p) {
    const int w = 760, h = 300, left = 70, right = 20, top = 20, bottom = 40;
    double t_max = 1e-9, y_min = 1e300, y_max = 0;
    for (const Trial& t : p.result.trials) {
        t_max = std::max(t_max, t.at_s);
        if (t.status == "ok") {
            y_min = std::min(y_min, t.median_us);
            y_max = std::max(y_max, t.median_us);
        }
    }
    if (y_max <= 0) return "<p>no candidate verified</p>";
    const double ly0 = std::log10(y_min * 0.9), ly1 = std::log10(y_max * 1.1);
    auto x = [&](double s) { return left + (w - left - right) * s / t_max; };
    auto y = [&](double us) {
        return top + (h - top - bottom) * (ly1 - std::log10(us)) / std::max(1e-9, ly1 - ly0);
    };
    std::ostringstream svg;
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
        << "' font-family='sans-serif' font-size='11'>\n";
    svg << "<rect x='" << left << "' y='" << top << "' width='" << w - left - right << "' height='"
        << h - top - bottom << "' fill='none' stroke='#ccc'/>\n";
    for (int i = 0; i <= 4; ++i) {  // y ticks
        const double us = std::pow(10.0, ly0 + (ly1 - ly0) * i / 4);
        char label[32];
        std::snprintf(label, sizeof label, "%.3g us", us);
        svg << "<text x='" << left - 4 << "' y='" << y(us) + 4 << "' text-anchor='end'>" << label
            << "</text>\n";
    }
    char t_label[32];
    std::snprintf(t_label, sizeof t_label, "%.0f s", t_max);
    svg << "<text x='" << w - right << "' y='" << h - 22 << "' text-anchor='end'>" << t_label
        << "</text>\n"
        << "<text x='" << left << "' y='" << h - 22 << "'>0 s</text>\n"
        << "<text x='" << (w + left) / 2 << "' y='" << h - 6
        << "' text-anchor='middle'>tuning time</text>\n";
    for (const Trial& t : p.result.trials) {
        const std::string tip =
            "<title>" +
            escape(t.phase + ": " + t.candidate.key() + " — " +
                   (t.status == "ok" ? std::to_string(t.median_us) + " us" : t.status)) +
            "</title>";
        if (t.status != "ok") {  // rejected: a red cross along the top
            svg << "<g stroke='#d62728'>" << tip << "<line x1='" << x(t.at_s) - 3 << "' y1='"
                << top + 2 << "' x2='" << x(t.at_s) + 3 << "' y2='" << top + 8 << "'/><line x1='"
                << x(t.at_s) - 3 << "' y1='" << top + 8 << "' x2='" << x(t.at_s) + 3 << "' y2='"
                << top + 2 << "'/></g>\n";
        } else {
            svg << "<circle cx='" << x(t.at_s) << "' cy='" << y(t.median_us) << "' r='"
                << (t.phase == "final" ? 4 : 2.5) << "' fill='" << colour(t.candidate.family)
                << "' fill-opacity='0.7'>" << tip << "</circle>\n";
        }
    }
    if (p.result.best) {
        const double wx = x(t_max), wy = y(p.result.timing.median_us);
        svg << "<circle cx='" << wx << "' cy='" << wy
            << "' r='8' fill='none' stroke='black' stroke-width='2'/>\n"
            << "<text x='" << wx - 12 << "' y='" << wy - 10
            << "' text-anchor='end' font-weight='bold'>winner " << escape(p.result.best->key())
            << "</text>\n";
    }
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace

void write_report(const std::string& path, const std::string& heading,
                  const std::vector<ProblemReport>& problems) {
    std::ostringstream html;
    html << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>tern-tune report</title>\n"
         << "<style>body{font-family:sans-serif;max-width:820px;margin:2em auto}"
         << "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid "
            "#ddd}</style>"
         << "</head><body>\n<h1>tern-tune</h1>\n<p>" << escape(heading) << "</p>\n"
         << "<p>Each dot is a candidate that compiled and matched the reference exactly (x: when "
            "it was tried, "
         << "y: median time per call, log scale; <span style='color:#1f77b4'>tmad</span>, "
         << "<span style='color:#2ca02c'>tlut</span>, <span style='color:#ff7f0e'>tadd</span>); "
            "large dots are "
         << "the final re-measurements of the leaders; red crosses are rejected candidates. Hover "
            "for knobs.</p>\n";
    for (const ProblemReport& p : problems) {
        html << "<h2>" << escape(p.title) << "</h2>\n<p>" << p.result.tried << " candidates tried, "
             << p.result.rejected << " rejected";
        if (p.result.best) {
            char t[64];
            std::snprintf(t, sizeof t, "%.2f us (spread %.0f%%)", p.result.timing.median_us,
                          p.result.timing.spread_pct);
            html << "; winner " << escape(p.result.best->key()) << ", " << t;
        }
        html << "</p>\n" << plot(p);
        if (!p.note.empty()) html << "<p>" << escape(p.note) << "</p>\n";
    }
    html << "</body></html>\n";
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        f << html.str();
        if (!f) throw Error(tmp + ": cannot write the report");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        throw Error("cannot rename " + tmp + " to " + path);
}

}  // namespace tern::tune
