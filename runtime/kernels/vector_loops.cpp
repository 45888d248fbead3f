// See vector_loops.h: the table's rows, and the plain float loops compiled per
// instruction set.
#include "kernels/vector_loops.h"

#include <algorithm>
#include <cmath>

#include "tern/cpu.h"

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

// What each row needs of a CPU (its bundle's features or this host's).
struct IsaRow {
    VectorIsa isa;
    const char* name;
    std::vector<std::string> needs;
};

const std::vector<IsaRow>& isa_rows() {
    static const std::vector<IsaRow> rows = {
#if defined(__x86_64__) && defined(__GNUC__)
        {VectorIsa::avx512, "avx512f", {"avx512f", "avx2", "fma", "f16c"}},
        {VectorIsa::avx2, "avx2", {"avx2", "fma", "f16c"}},
#endif
        {VectorIsa::generic, "generic", {}},
    };
    return rows;
}

VectorLoops make_row(const IsaRow& r) {
    VectorLoops row;
    row.isa = r.isa;
    row.name = r.name;
    row.dot = generic::dot;
    row.gated_activation = generic::gated_activation;
#if TERN_FLOAT_LOOPS_PER_ISA
    if (r.isa == VectorIsa::avx2) {
        row.dot = avx2::dot;
        row.gated_activation = avx2::gated_activation;
    } else if (r.isa == VectorIsa::avx512) {
        row.dot = avx512::dot;
        row.gated_activation = avx512::gated_activation;
    }
#endif
    add_attention_loops(row);
    add_f16_gemv_loop(row);
    return row;
}

// One made row per IsaRow, in the same order.
const std::vector<VectorLoops>& made_rows() {
    static const std::vector<VectorLoops> rows = [] {
        std::vector<VectorLoops> out;
        for (const IsaRow& r : isa_rows()) out.push_back(make_row(r));
        return out;
    }();
    return rows;
}

bool covers(const std::vector<std::string>& have, const std::vector<std::string>& needs) {
    return std::all_of(needs.begin(), needs.end(), [&](const std::string& f) {
        return std::find(have.begin(), have.end(), f) != have.end();
    });
}

}  // namespace

const VectorLoops& vector_loops_for(const std::vector<std::string>& features) {
    for (size_t i = 0; i < isa_rows().size(); ++i)
        if (covers(features, isa_rows()[i].needs)) return made_rows()[i];
    return made_rows().back();
}

std::vector<const VectorLoops*> runnable_vector_loops() {
    const std::set<std::string>& host = host_cpu().features;
    const std::vector<std::string> have(host.begin(), host.end());
    std::vector<const VectorLoops*> out;
    for (size_t i = isa_rows().size(); i-- > 0;)
        if (covers(have, isa_rows()[i].needs)) out.push_back(&made_rows()[i]);
    return out;
}

}  // namespace tern
