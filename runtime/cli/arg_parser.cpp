#include "arg_parser.h"

#include <cstdio>
#include <cstdlib>

#include "tern/error.h"

namespace tern::cli {

ArgParser::ArgParser(std::string command, std::string usage, std::string program)
    : command_(std::move(command)),
      usage_(std::move(usage)),
      program_(program.empty() ? "tern " + command_ : std::move(program)) {}

void ArgParser::option(const std::string& name, const std::string& short_name,
                       const std::string& value, const std::string& default_value,
                       const std::string& help) {
    order_.push_back(name);
    specs_[name] = {short_name, value, default_value, help, false};
}

void ArgParser::flag(const std::string& name, const std::string& short_name,
                     const std::string& help) {
    order_.push_back(name);
    specs_[name] = {short_name, "", "", help, true};
}

bool ArgParser::parse(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            print_help();
            return false;
        }
        std::string name;
        for (const auto& [n, s] : specs_)
            if (a == "--" + n || (!s.short_name.empty() && a == "-" + s.short_name)) name = n;
        if (name.empty())
            throw Error(program_ + ": unknown argument '" + a + "' (see " + program_ + " --help)");
        if (specs_[name].is_flag) {
            values_[name] = "1";
            continue;
        }
        if (i + 1 >= argc)
            throw Error(program_ + ": " + a + " needs a value (" + specs_[name].value + ")");
        values_[name] = argv[++i];
    }
    return true;
}

bool ArgParser::given(const std::string& name) const { return values_.count(name) != 0; }
bool ArgParser::on(const std::string& name) const { return given(name); }

std::string ArgParser::str(const std::string& name) const {
    auto it = values_.find(name);
    return it != values_.end() ? it->second : specs_.at(name).default_value;
}

void ArgParser::require(const std::string& name) const {
    if (str(name).empty()) throw Error(program_ + ": --" + name + " is required (see --help)");
}

long ArgParser::integer(const std::string& name, long min, long max) const {
    const std::string v = str(name);
    char* end = nullptr;
    const long x = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || x < min || x > max)
        throw Error(program_ + ": --" + name + " is '" + v + "', expected an integer from " +
                    std::to_string(min) + " to " + std::to_string(max));
    return x;
}

double ArgParser::number(const std::string& name, double min, double max) const {
    const std::string v = str(name);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(x >= min && x <= max)) {
        char range[96];
        std::snprintf(range, sizeof range, "a number from %g to %g", min, max);
        throw Error(program_ + ": --" + name + " is '" + v + "', expected " + range);
    }
    return x;
}

std::vector<long> ArgParser::integers(const std::string& name, long min, long max) const {
    std::vector<long> out;
    const std::string v = str(name);
    size_t at = 0;
    while (at <= v.size()) {
        const size_t comma = v.find(',', at);
        const std::string item =
            v.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        char* end = nullptr;
        const long x = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || x < min || x > max)
            throw Error(program_ + ": --" + name + " is '" + v + "', expected integers from " +
                        std::to_string(min) + " to " + std::to_string(max) +
                        " separated by commas");
        out.push_back(x);
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    return out;
}

std::string ArgParser::choice(const std::string& name,
                              const std::vector<std::string>& allowed) const {
    const std::string v = str(name);
    std::string list;
    for (const auto& a : allowed) {
        if (a == v) return v;
        list += (list.empty() ? "" : ", ") + a;
    }
    throw Error(program_ + ": --" + name + " is '" + v + "', expected one of " + list);
}

void ArgParser::print_help() const {
    std::printf("usage: %s %s\n\n", program_.c_str(), usage_.c_str());
    if (!description_.empty()) std::printf("%s\n\noptions:\n", description_.c_str());
    for (const std::string& n : order_) {
        const Spec& s = specs_.at(n);
        std::string left = (s.short_name.empty() ? "    " : "-" + s.short_name + ", ") + "--" + n;
        if (!s.is_flag) left += " " + s.value;
        std::string help = s.help;
        if (!s.is_flag && !s.default_value.empty()) help += " (default " + s.default_value + ")";
        std::printf("  %-30s %s\n", left.c_str(), help.c_str());
    }
}

}  // namespace tern::cli
