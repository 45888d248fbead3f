// tadd: add-only ternary product. Each weight row is two bit masks, plus (w = +1)
// and minus (w = -1); the product is the sum of activations where plus minus the
// sum where minus. No multiplications: each bit becomes an all-ones or all-zero
// lane mask (shift left, arithmetic shift right) that selects the activation.
//
// Layout: a tile of T = lanes rows; for every 16 weights of K one uint16 word per
// row and plane, rows innermost so that one vector load covers the tile:
//   packed(T, 2, K / 16, N / T) uint16, bit b of word kw is k = 16 * kw + b.
#include "ternary_linear_generator.h"

namespace tern {

class TaddGenerator : public TernaryLinearGenerator<TaddGenerator> {
public:
    GeneratorParam<int> lanes{"lanes", 16};
    GeneratorParam<int> kblock{"kblock", 4};

    Input<Halide::Buffer<uint16_t>> packed{"packed", 4};

    void generate() {
        using namespace Halide;
        check_common_knobs(Family::tadd);
        check_knob(Family::tadd, "lanes", lanes);
        check_knob(Family::tadd, "kblock", kblock);
        const int T = lanes;
        Var j{"j"}, blk{"blk"}, t{"t"};
        Expr words = packed.dim(2).extent();

        // int16 sums over blocks of 16 * kblock weights: |sum| <= 16 * 15 * 128.
        bits = RDom(0, 16, 0, kblock, "bits");
        Expr kw = blk * kblock + bits.y;
        Expr x = cast<int16_t>(q(16 * kw + bits.x, m));
        auto lane_mask = [&](int plane) {
            Expr word = packed(j, plane, kw, t) << cast<uint16_t>(15 - bits.x);
            return reinterpret(Int(16), word) >> 15;
        };
        acc16(j, m, blk, t) = cast<int16_t>(0);
        acc16(j, m, blk, t) += (x & lane_mask(0)) - (x & lane_mask(1));

        define_output(widen_row_blocks(acc16, words / kblock, T));

        packed.dim(0).set_bounds(0, T);
        packed.dim(1).set_bounds(0, 2).set_stride(T);
        packed.dim(2).set_min(0).set_stride(2 * T);
        packed.dim(3).set_min(0);
        q.dim(0).set_extent(16 * words);
        y.dim(0).set_extent(packed.dim(3).extent() * T);
    }

    void schedule() {
        const int T = lanes;
        if (get_auto_schedule()) {
            set_common_estimates();
            packed.set_estimates({{0, T}, {0, 2}, {0, est_k / 16}, {0, est_n / T}});
            select_dot_products();
            return;
        }
        const Var mv = schedule_row_blocks(acc16, packed, T);
        const Var j{acc16.args()[0]};
        acc16.update().reorder(j, mv, bits.x, bits.y).vectorize(j).unroll(mv).unroll(bits.x);
        if (unroll > 1) acc16.update().unroll(bits.y, unroll);
        select_dot_products();
    }

private:
    Func acc16{"acc16"};
    Halide::RDom bits;
};

}  // namespace tern

HALIDE_REGISTER_GENERATOR(tern::TaddGenerator, tadd)
