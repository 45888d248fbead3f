#include "target_info.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tern/error.h"
#include "tern/knob_space.h"

namespace tern::tune {

namespace {

std::string where(const std::string& file, const YAML::Node& node) {
    return file + ":" + std::to_string(node.Mark().line + 1);
}

YAML::Node require_key(const std::string& file, const YAML::Node& map, const char* key) {
    const YAML::Node v = map[key];
    if (!v) throw Error(where(file, map) + ": missing key '" + key + "'");
    return v;
}

std::vector<std::string> string_list(const std::string& file, const YAML::Node& map,
                                     const char* key) {
    const YAML::Node v = require_key(file, map, key);
    if (!v.IsSequence()) throw Error(where(file, v) + ": key '" + key + "' must be a list");
    std::vector<std::string> out;
    for (const auto& item : v) out.push_back(item.as<std::string>());
    return out;
}

int dot_kind_value(const std::string& file, const std::string& name) {
    if (name == "pair16") return static_cast<int>(DotKind::pair16);
    if (name == "quad32u") return static_cast<int>(DotKind::quad32u);
    if (name == "quad32s") return static_cast<int>(DotKind::quad32s);
    throw Error(file + ": unknown tmad_dot kind '" + name +
                "' (expected pair16, quad32u, quad32s)");
}

}  // namespace

TargetInfo parse_target(const std::string& yaml, const std::string& file) {
    // Any yaml-cpp exception (syntax, or a value of the wrong type met while
    // reading) becomes an error naming the file and line.
    try {
        const YAML::Node root = YAML::Load(yaml);
        TargetInfo t;
        t.name = require_key(file, root, "name").as<std::string>();
        t.halide_target = require_key(file, root, "halide_target").as<std::string>();
        t.cpu_features = string_list(file, root, "cpu_features");
        t.families = string_list(file, root, "families");
        for (const std::string& d : string_list(file, root, "tmad_dot"))
            t.tmad_dot.push_back(dot_kind_value(file, d));
        if (const YAML::Node cpu = root["llvm_cpu"]) t.llvm_cpu = cpu.as<std::string>();
        if (const YAML::Node bits = root["vector_bits"]) t.vector_bits = bits.as<int>();
        if (const YAML::Node regs = root["vector_registers"]) t.vector_registers = regs.as<int>();
        if (root["jit_cpu_features"])
            t.jit_cpu_features = string_list(file, root, "jit_cpu_features");
        if (const YAML::Node lanes = root["tmad_lanes"]) {
            if (!lanes.IsSequence())
                throw Error(where(file, lanes) + ": key 'tmad_lanes' must be a list");
            for (const YAML::Node& v : lanes) {
                const int l = v.as<int>();
                if (!knob_value_is_legal(Family::tmad, "lanes", l))
                    throw Error(file + ": tmad_lanes value " + std::to_string(l) +
                                " is not a tmad lanes value (knob_space.h)");
                t.tmad_lanes.push_back(l);
            }
        }
        return t;
    } catch (const YAML::Exception& e) {
        throw Error(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
}

std::vector<TargetInfo> load_targets(const std::string& dir) {
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw Error("no target files (*.yaml) in " + dir);
    std::vector<TargetInfo> targets;
    for (const std::string& file : files) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in) throw Error(file + ": cannot read the target file");
        targets.push_back(parse_target(text.str(), file));
    }
    return targets;
}

std::vector<std::string> missing_features(const TargetInfo& t, const HostCpu& cpu) {
    std::vector<std::string> features = t.cpu_features;
    for (const std::string& f : t.jit_cpu_features)
        if (std::find(features.begin(), features.end(), f) == features.end()) features.push_back(f);
    return tern::missing_features(t.halide_target, features, cpu);
}

const TargetInfo& choose_host_target(const std::vector<TargetInfo>& targets, const HostCpu& cpu,
                                     std::string* why) {
    const TargetInfo* best = nullptr;
    std::string rejected;
    for (const TargetInfo& t : targets) {
        const auto missing = missing_features(t, cpu);
        if (!missing.empty()) {
            std::string m;
            for (const auto& f : missing) m += (m.empty() ? "" : ", ") + f;
            rejected += "; " + t.name + " needs " + m;
            continue;
        }
        if (!best || t.cpu_features.size() > best->cpu_features.size()) best = &t;
    }
    if (!best) throw Error("no target in targets/ runs on this CPU (" + cpu.model + ")" + rejected);
    if (why) {
        std::string have;
        for (const auto& f : best->cpu_features) have += (have.empty() ? "" : ", ") + f;
        *why = cpu.model + " has " + have + rejected;
    }
    return *best;
}

}  // namespace tern::tune
