#include "schedule_db.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tern/error.h"

namespace tern::tune {

namespace {

struct Reader {
    std::string file;

    std::string at(const YAML::Node& n) const {
        return file + ":" + std::to_string(n.Mark().line + 1);
    }

    YAML::Node need(const YAML::Node& map, const std::string& key) const {
        if (!map.IsMap()) throw Error(at(map) + ": expected a map with key '" + key + "'");
        YAML::Node v = map[key];
        if (!v) throw Error(at(map) + ": missing key '" + key + "'");
        return v;
    }

    template <typename T>
    T get(const YAML::Node& map, const std::string& key) const {
        const YAML::Node v = need(map, key);
        try {
            return v.as<T>();
        } catch (const YAML::Exception&) {
            throw Error(at(v) + ": key '" + key + "' has a value of the wrong type");
        }
    }

    template <typename T>
    T get_or(const YAML::Node& map, const std::string& key, T fallback) const {
        return map[key] ? get<T>(map, key) : fallback;
    }
};

}  // namespace

const DbEntry* ScheduleDb::find(const std::string& op, int k, int n, int m, int threads) const {
    for (const DbEntry& e : kernels)
        if (e.op == op && e.k == k && e.n == n && e.m == m && e.threads == threads) return &e;
    return nullptr;
}

ScheduleDb load_schedule_db(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) throw Error(path + ": cannot read the schedule database");
    return parse_schedule_db(text.str(), path);
}

namespace {

// The database in `yaml`; yaml-cpp's exceptions pass through (parse_schedule_db
// names file and line for them).
ScheduleDb read_schedule_db(const std::string& yaml, const std::string& path) {
    const Reader r{path};
    const YAML::Node root = YAML::Load(yaml);
    ScheduleDb db;
    db.target = r.get<std::string>(root, "target");
    const YAML::Node prov = r.need(root, "provenance");
    db.provenance.cpu = r.get<std::string>(prov, "cpu");
    db.provenance.features = r.get_or<std::vector<std::string>>(prov, "features", {});
    db.provenance.halide = r.get<std::string>(prov, "halide");
    db.provenance.tern = r.get<std::string>(prov, "tern");
    db.provenance.date = r.get<std::string>(prov, "date");
    const YAML::Node kernels = r.need(root, "kernels");
    if (!kernels.IsSequence()) throw Error(r.at(kernels) + ": key 'kernels' must be a list");
    for (const YAML::Node& k : kernels) {
        DbEntry e;
        e.name = r.get<std::string>(k, "name");
        e.family = r.get<std::string>(k, "family");
        e.knobs = r.get<std::map<std::string, int>>(k, "knobs");
        e.op = r.get_or<std::string>(k, "op", "");
        if (!e.op.empty() && e.op != "gemv" && e.op != "gemm")
            throw Error(r.at(k) + ": key 'op' is '" + e.op + "', expected gemv or gemm");
        e.k = r.get_or(k, "k", 0);
        e.n = r.get_or(k, "n", 0);
        e.m = r.get_or(k, "m", 0);
        e.threads = r.get_or(k, "threads", 0);
        e.median_us = r.get_or(k, "median_us", 0.0);
        e.spread_pct = r.get_or(k, "spread_pct", 0.0);
        e.gbs = r.get_or(k, "gbs", 0.0);
        e.gops = r.get_or(k, "gops", 0.0);
        e.tried = r.get_or(k, "tried", 0);
        e.model_us = r.get_or(k, "model_us", 0.0);
        e.model_spread_pct = r.get_or(k, "model_spread_pct", 0.0);
        db.kernels.push_back(std::move(e));
    }
    return db;
}

}  // namespace

ScheduleDb parse_schedule_db(const std::string& yaml, const std::string& path) {
    // Any yaml-cpp exception (syntax, or a value of the wrong type the checks
    // do not name) becomes an error naming the file and line.
    try {
        return read_schedule_db(yaml, path);
    } catch (const YAML::Exception& e) {
        throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
}

void save_schedule_db(const ScheduleDb& db, const std::string& path) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "target" << YAML::Value << db.target;
    out << YAML::Key << "provenance" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "cpu" << YAML::Value << YAML::DoubleQuoted << db.provenance.cpu;
    out << YAML::Key << "features" << YAML::Value << YAML::Flow << db.provenance.features;
    out << YAML::Key << "halide" << YAML::Value << YAML::DoubleQuoted << db.provenance.halide;
    out << YAML::Key << "tern" << YAML::Value << YAML::DoubleQuoted << db.provenance.tern;
    out << YAML::Key << "date" << YAML::Value << YAML::DoubleQuoted << db.provenance.date;
    out << YAML::EndMap;
    out << YAML::Key << "kernels" << YAML::Value << YAML::BeginSeq;
    for (const DbEntry& e : db.kernels) {
        out << YAML::Flow << YAML::BeginMap;
        out << YAML::Key << "name" << YAML::Value << e.name;
        out << YAML::Key << "family" << YAML::Value << e.family;
        out << YAML::Key << "knobs" << YAML::Value << YAML::Flow << YAML::BeginMap;
        for (const auto& [key, value] : e.knobs) out << YAML::Key << key << YAML::Value << value;
        out << YAML::EndMap;
        if (e.tuned()) {
            out << YAML::Key << "op" << YAML::Value << e.op;
            out << YAML::Key << "k" << YAML::Value << e.k;
            out << YAML::Key << "n" << YAML::Value << e.n;
            out << YAML::Key << "m" << YAML::Value << e.m;
            out << YAML::Key << "threads" << YAML::Value << e.threads;
            out << YAML::Key << "median_us" << YAML::Value << e.median_us;
            out << YAML::Key << "spread_pct" << YAML::Value << e.spread_pct;
            out << YAML::Key << "gbs" << YAML::Value << e.gbs;
            out << YAML::Key << "gops" << YAML::Value << e.gops;
            out << YAML::Key << "tried" << YAML::Value << e.tried;
            if (e.model_us > 0) {
                out << YAML::Key << "model_us" << YAML::Value << e.model_us;
                out << YAML::Key << "model_spread_pct" << YAML::Value << e.model_spread_pct;
            }
        }
        out << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;

    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        if (!f) throw Error(tmp + ": cannot write the schedule database");
        f << "# tern schedule database, written by tern-tune.\n" << out.c_str() << "\n";
        f.flush();
        if (!f) throw Error(tmp + ": write failed");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        throw Error("cannot rename " + tmp + " to " + path);
}

std::vector<std::string> provenance_mismatches(const Provenance& db, const Provenance& here) {
    std::vector<std::string> out;
    if (db.cpu != here.cpu)
        out.push_back("tuned on CPU '" + db.cpu + "', this is '" + here.cpu + "'");
    if (db.halide != here.halide)
        out.push_back("tuned with Halide " + db.halide + ", this is " + here.halide);
    if (db.features != here.features) out.push_back("tuned with different CPU features");
    return out;
}

}  // namespace tern::tune
