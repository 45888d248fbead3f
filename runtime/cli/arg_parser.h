// Command-line flags for the tern commands and tern-tune: declared with their help, parsed
// with clear errors (unknown flag, missing or malformed value) naming the flag.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tern::cli {

class ArgParser {
public:
    // Messages and help name the program "tern <command>", or `program` when
    // given (another executable, such as tern-tune).
    ArgParser(std::string command, std::string usage, std::string program = "");
    // Text printed with --help between the usage line and the options.
    void describe(std::string text) { description_ = std::move(text); }
    // A flag with a value: --name VALUE or -s VALUE (short may be empty).
    void option(const std::string& name, const std::string& short_name, const std::string& value,
                const std::string& default_value, const std::string& help);
    // A flag without a value.
    void flag(const std::string& name, const std::string& short_name, const std::string& help);

    // Parses argv; returns false after printing help for --help/-h. Throws
    // tern::Error on unknown flags and missing values.
    bool parse(int argc, char** argv);

    std::string str(const std::string& name) const;
    bool given(const std::string& name) const;
    bool on(const std::string& name) const;  // a flag
    long integer(const std::string& name, long min, long max) const;
    double number(const std::string& name, double min, double max) const;
    std::vector<long> integers(const std::string& name, long min, long max) const;  // "1,2,4"
    std::string choice(const std::string& name, const std::vector<std::string>& allowed) const;
    void require(const std::string& name) const;

private:
    struct Spec {
        std::string short_name, value, default_value, help;
        bool is_flag = false;
    };
    std::string command_, usage_, program_, description_;
    std::vector<std::string> order_;
    std::map<std::string, Spec> specs_;
    std::map<std::string, std::string> values_;
    void print_help() const;
};

}  // namespace tern::cli
