// The candidates of a tuning problem: every legal knob combination of every
// family that applies to the target, built from tern/knob_space.h.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "target_info.h"
#include "tern/knob_space.h"

namespace tern::tune {

struct Candidate {
    Family family;
    std::map<std::string, int> knobs;
    std::string key() const;  // "tmad lanes=8 ..."
};

enum class Op { gemv, gemm };
const char* op_name(Op op);

// Legal combinations: GEMV fixes m_tile = 1, GEMM takes m_tile > 1; tmad's dot
// kinds are the target's and its knobs free of tmad_knob_conflict (knob_space.h);
// int16 blocks stay within max_kblock.
std::vector<Candidate> enumerate(Family family, Op op, const TargetInfo& target);

// Candidates one knob step away from c (the neighbouring legal value of one knob).
std::vector<Candidate> neighbours(const Candidate& c, Op op, const TargetInfo& target);

}  // namespace tern::tune
