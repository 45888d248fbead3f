// See vector_loops.h: the table's rows, and the plain float loops compiled per
// instruction set.
#include "kernels/vector_loops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tern/cpu.h"

// exp8's 32-byte vectors are passed by value; GCC warns that this ABI differs
// with and without AVX, which cannot matter for a function inlined within
// each copy of the loops.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace tern {
namespace {

namespace generic {
#include "float_loops.inc"
}  // namespace generic

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TERN_FLOAT_LOOPS_PER_ISA 1
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
namespace avx2 {
#include "float_loops.inc"
}  // namespace avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma,f16c")
namespace avx512 {
#include "float_loops.inc"
}  // namespace avx512
#pragma GCC pop_options
#endif

// A row and what it needs of a CPU (its bundle's features or this host's).
struct Row {
    VectorLoops loops;
    std::vector<std::string> needs;
};

VectorLoops make_loops(VectorIsa isa, const char* name) {
    VectorLoops row;
    row.isa = isa;
    row.name = name;
    row.dot = generic::dot;
    row.gated_activation = generic::gated_activation;
#if TERN_FLOAT_LOOPS_PER_ISA
    if (isa == VectorIsa::avx2) {
        row.dot = avx2::dot;
        row.gated_activation = avx2::gated_activation;
    } else if (isa == VectorIsa::avx512) {
        row.dot = avx512::dot;
        row.gated_activation = avx512::gated_activation;
    }
#endif
    add_attention_loops(row);
    add_f16_gemv_loop(row);
    return row;
}

// The widest first; generic last.
const std::vector<Row>& rows() {
    static const std::vector<Row> table = {
#if defined(__x86_64__) && defined(__GNUC__)
        {make_loops(VectorIsa::avx512, "avx512f"), {"avx512f", "avx2", "fma", "f16c"}},
        {make_loops(VectorIsa::avx2, "avx2"), {"avx2", "fma", "f16c"}},
#endif
        {make_loops(VectorIsa::generic, "generic"), {}},
    };
    return table;
}

bool covers(const std::vector<std::string>& have, const std::vector<std::string>& needs) {
    return std::all_of(needs.begin(), needs.end(), [&](const std::string& f) {
        return std::find(have.begin(), have.end(), f) != have.end();
    });
}

}  // namespace

const VectorLoops& vector_loops_for(const std::vector<std::string>& features) {
    for (const Row& r : rows())
        if (covers(features, r.needs)) return r.loops;
    return rows().back().loops;
}

std::vector<const VectorLoops*> runnable_vector_loops() {
    const std::set<std::string>& host = host_cpu().features;
    const std::vector<std::string> have(host.begin(), host.end());
    std::vector<const VectorLoops*> out;
    for (auto r = rows().rbegin(); r != rows().rend(); ++r)
        if (covers(have, r->needs)) out.push_back(&r->loops);
    return out;
}

}  // namespace tern
