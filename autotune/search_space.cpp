#include "search_space.h"

#include <algorithm>

#include "jit_kernel.h"

namespace tern::tune {

namespace {

bool legal(const Candidate& c, Op op, const TargetInfo& target) {
    const auto& k = c.knobs;
    const int m_tile = k.at("m_tile");
    if ((op == Op::gemv) != (m_tile == 1)) return false;
    const int g = c.family == Family::tlut ? k.at("g") : 2;
    if (k.at("kblock") > max_kblock(c.family, g)) return false;
    // tmad's lanes are int32, tadd's and tlut's int16.
    const int lane_bits = c.family == Family::tmad ? 32 : 16;
    if (target.vector_bits > 0 && k.at("lanes") * lane_bits > target.vector_bits) return false;
    if (c.family == Family::tlut && k.at("lookup") == 1 && g != 2) return false;
    if (k.at("prefetch_l2") > 0 && k.at("prefetch") == 0) return false;
    if (c.family == Family::tmad) {
        const int dot = k.at("dot");
        if (std::find(target.tmad_dot.begin(), target.tmad_dot.end(), dot) == target.tmad_dot.end())
            return false;
        const auto& lanes = target.tmad_lanes;
        if (!lanes.empty() && std::find(lanes.begin(), lanes.end(), k.at("lanes")) == lanes.end())
            return false;
        if (tmad_knob_conflict(static_cast<DotKind>(dot), k.at("unpack"), k.at("base3"),
                               k.at("decode"), k.at("kblock"), k.at("chains"), m_tile))
            return false;
        if (target.vector_registers > 0 && dot != static_cast<int>(DotKind::pair16)) {
            // A row tile's accumulators: one per row of a byte (and the carried
            // multiple) per activation row and chain, plus a code vector and broadcasts.
            const bool carry =
                tmad_carries(k.at("base3"), static_cast<DotKind>(dot), k.at("decode"));
            const int live =
                (codes_per_byte(k.at("base3")) + (carry ? 1 : 0)) * m_tile * k.at("chains");
            if (live > target.vector_registers - 4) return false;
        }
    }
    return true;
}

}  // namespace

std::string Candidate::key() const {
    return std::string(family_name(family)) + " " + describe_knobs(knobs);
}

const char* op_name(Op op) { return op == Op::gemv ? "gemv" : "gemm"; }

std::vector<Candidate> enumerate(Family family, Op op, const TargetInfo& target) {
    const std::vector<Knob> space = knob_space(family);
    std::vector<Candidate> out;
    Candidate c{family, {}};
    // Odometer over the knobs' value lists.
    std::vector<size_t> at(space.size(), 0);
    while (true) {
        for (size_t i = 0; i < space.size(); ++i) c.knobs[space[i].name] = space[i].values[at[i]];
        if (legal(c, op, target)) out.push_back(c);
        size_t i = 0;
        while (i < space.size() && ++at[i] == space[i].values.size()) at[i++] = 0;
        if (i == space.size()) break;
    }
    return out;
}

std::vector<Candidate> neighbours(const Candidate& c, Op op, const TargetInfo& target) {
    std::vector<Candidate> out;
    for (const Knob& knob : knob_space(c.family)) {
        const auto& values = knob.values;
        const auto it = std::find(values.begin(), values.end(), c.knobs.at(knob.name));
        const size_t i = static_cast<size_t>(it - values.begin());
        for (size_t j : {i - 1, i + 1}) {
            if (j >= values.size()) continue;  // also catches i - 1 wrapping below zero
            Candidate n = c;
            n.knobs[knob.name] = values[j];
            if (legal(n, op, target)) out.push_back(n);
        }
    }
    return out;
}

}  // namespace tern::tune
