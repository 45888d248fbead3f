// tlut: table lookup in the T-MAC / bitnet.cpp TL style. For each group of g
// activations the table holds the partial sum for every one of the 3^g weight
// patterns; each weight row stores one pattern index per group, and the product
// is the sum of the looked-up entries.
//
// Two ways to look up (the lookup knob), both measured by the tuner against tmad
// and tadd:
//   0: a select chain over the 3^g entries, each a scalar broadcast: 3^g - 1
//      compare-and-blend steps per vector of rows;
//   1: (g = 2) vector table lookups, pshufb on x86 and tbl on ARM, through
//      table_lookup.h (Halide 14 has no lowering of its own for them). A lookup
//      reads 16 bytes, so the int16 entries are split into a table of low bytes
//      and one of high bytes, each looked up once, and joined.
//
// Layout: a tile of T = lanes rows, one byte per row and group, rows innermost:
//   packed(T, K / g, N / T) uint8 = sum_i (w_i + 1) * 3^i over k = g * grp + i.
#include "ternary_linear_generator.h"

namespace tern {

class TlutGenerator : public TernaryLinearGenerator<TlutGenerator> {
public:
    GeneratorParam<int> lanes{"lanes", 16};
    GeneratorParam<int> g{"g", 2};
    GeneratorParam<int> kblock{"kblock", 32};
    GeneratorParam<int> lookup{"lookup", 0};

    Input<Halide::Buffer<uint8_t>> packed{"packed", 3};

    void generate() {
        using namespace Halide;
        check_common_knobs(Family::tlut);
        check_knob(Family::tlut, "lanes", lanes);
        check_knob(Family::tlut, "g", g);
        check_knob(Family::tlut, "kblock", kblock);
        check_knob(Family::tlut, "lookup", lookup);
        if (lookup && g != 2) throw CompileError("tlut: lookup=1 needs g=2 (9 entries of 16)");
        const int T = lanes, G = g;
        int patterns = 1;
        for (int i = 0; i < G; ++i) patterns *= 3;
        Var j{"j"}, blk{"blk"}, t{"t"}, pat{"pat"}, grp{"grp"};
        Expr groups = packed.dim(1).extent();

        // table(pat, grp, m) = sum_i (digit_i(pat) - 1) * q(g * grp + i, m)
        Expr entry = cast<int16_t>(0);
        for (int i = 0, place = 1; i < G; ++i, place *= 3) {
            Expr w = cast<int16_t>((pat / place) % 3 - 1);
            entry = entry + w * cast<int16_t>(q(G * grp + i, m));
        }
        table(pat, grp, m) = entry;

        // int16 sums over blocks of kblock groups: |entry| <= g * 128.
        r = RDom(0, kblock, "r");
        Expr gi = blk * kblock + r;
        Expr value;
        if (lookup) {
            // 16-byte tables of the entries' low and high bytes; the mask tells
            // Halide (and table_lookup.h) the index is below 16.
            lut_lo(pat, grp, m) =
                cast<uint8_t>(select(pat < patterns, table(pat, grp, m), 0) & 255);
            lut_hi(pat, grp, m) = cast<int8_t>(select(pat < patterns, table(pat, grp, m), 0) >> 8);
            Expr idx = cast<int32_t>(packed(j, gi, t) & cast<uint8_t>(15));
            value = cast<int16_t>(lut_hi(idx, gi, m)) * cast<int16_t>(256) +
                    cast<int16_t>(lut_lo(idx, gi, m));
        } else {
            Expr idx = cast<int16_t>(packed(j, gi, t));
            value = table(0, gi, m);
            for (int p = 1; p < patterns; ++p) value = select(idx == p, table(p, gi, m), value);
        }
        acc16(j, m, blk, t) = cast<int16_t>(0);
        acc16(j, m, blk, t) += value;

        define_output(widen_row_blocks(acc16, groups / kblock, T));

        packed.dim(0).set_bounds(0, T);
        packed.dim(1).set_min(0).set_stride(T);
        packed.dim(2).set_min(0);
        q.dim(0).set_extent(G * groups);
        y.dim(0).set_extent(packed.dim(2).extent() * T);
    }

    void schedule() {
        const int T = lanes;
        if (get_auto_schedule()) {
            set_common_estimates();
            packed.set_estimates({{0, T}, {0, int(est_k) / int(g)}, {0, est_n / T}});
            select_dot_products();
            select_table_lookups();
            return;
        }
        Var pat{table.args()[0]}, grp{table.args()[1]}, mt{table.args()[2]};
        if (lookup) {
            // 32 bytes per group and activation row, each table's 16 bytes dense.
            for (Func f : {lut_lo, lut_hi})
                f.compute_root()
                    .bound(pat, 0, 16)
                    .reorder(pat, grp, mt)
                    .vectorize(pat)
                    .parallel(mt);
        } else {
            // Tables for all groups and rows once: K / g * 3^g int16 per activation row.
            table.compute_root().reorder(pat, grp, mt).unroll(pat).vectorize(grp, 16).parallel(mt);
        }
        const Var mv = schedule_row_blocks(acc16, packed, T);
        const Var j{acc16.args()[0]};
        acc16.update().reorder(j, mv, r.x).vectorize(j).unroll(mv);
        if (unroll > 1) acc16.update().unroll(r.x, unroll);
        select_dot_products();
        select_table_lookups();
    }

private:
    Func table{"table"}, lut_lo{"lut16_lo"}, lut_hi{"lut16_hi"}, acc16{"acc16"};
    Halide::RDom r;
};

}  // namespace tern

HALIDE_REGISTER_GENERATOR(tern::TlutGenerator, tlut)
