// int8-row GEMV for the LM head: the tied embedding repacked to int8 rows with
// one scale per row, times one int8 activation row.
//   y(n) = float(sum_k W(n, k) * q(k)) * (row_scale(n) * q_scale)
//
// Layout ("row tiles of k-groups", written by tern::Int8Rows): a tile holds
// `lanes` weight rows; for each group of g consecutive k it stores g * lanes
// bytes, byte g * j + b holding W(tile * lanes + j, g * kg + b). The tile is one
// sequential stream, one vector load gives every row of the tile a group of k
// in its own int32 lane, and a broadcast of q(g * kg .. g * kg + g - 1)
// multiplies them all. The dot kind sets g and the byte encoding:
//   dot 0 (pair16): g = 2, bytes are W; widened to int16 and multiplied in
//         pairs into int32 lanes (pmaddwd) on any x86.
//   dot 1 (quad32): g = 4, bytes are W + 128 (unsigned), times signed q in
//         quads (vpdpbusd with AVX-512 VNNI); the sum then carries 128 * sum(q),
//         subtracted once per call.
//   dot 2 (quad32s): g = 4, bytes are W, signed by signed quads (ARM sdot).
//   packed(g * lanes, K / g, N / lanes) uint8
#include "Halide.h"
#include "select_dot_products.h"

namespace tern {

class Int8GemvGenerator : public Halide::Generator<Int8GemvGenerator> {
public:
    GeneratorParam<int> lanes{"lanes", 8};   // rows per tile: int32 lanes of a vector
    GeneratorParam<int> dot_kind{"dot", 0};  // see above
    GeneratorParam<int> tiles{"tiles", 4};   // tiles per step: independent accumulators
    GeneratorParam<int> tasks{"tasks", 16};  // parallel tasks per call

    Input<Halide::Buffer<uint8_t>> packed{"packed", 3};
    Input<Halide::Buffer<float>> row_scale{"row_scale", 1};  // (N)
    Input<Halide::Buffer<int8_t>> q{"q", 1};                 // (K)
    Input<float> q_scale{"q_scale"};
    Output<Halide::Buffer<float>> y{"y", 1};  // (N)

    void generate() {
        using namespace Halide;
        if (dot_kind < 0 || dot_kind > 2) throw CompileError("int8_gemv: dot must be 0, 1 or 2");
        if (lanes < 4 || tiles < 1 || tasks < 1)
            throw CompileError("int8_gemv: lanes >= 4, tiles >= 1 and tasks >= 1 expected");
        const int L = lanes, g = group();
        Expr groups = packed.dim(1).extent();
        r = RDom(0, g, 0, groups, "r");
        Expr byte = packed(g * j + r.x, r.y, t);
        Expr w = dot_kind == 1 ? cast<int32_t>(byte) : cast<int32_t>(cast<int8_t>(byte));
        Expr x = cast<int32_t>(q(g * r.y + r.x));
        if (dot_kind == 0) {
            // int16 x int16 products, summed in pairs (pmaddwd).
            w = cast<int32_t>(cast<int16_t>(cast<int8_t>(byte)));
            x = cast<int32_t>(cast<int16_t>(q(g * r.y + r.x)));
        }
        acc(j, t) = 0;
        acc(j, t) += w * x;
        Expr dot = acc(n % L, n / L);
        if (dot_kind == 1) {
            RDom rk(0, g * groups, "rk");
            qsum() = 0;
            qsum() += cast<int32_t>(q(rk));
            dot -= 128 * qsum();
        }
        y(n) = cast<float>(dot) * (row_scale(n) * q_scale);

        packed.dim(0).set_bounds(0, g * L);
        packed.dim(1).set_min(0).set_stride(g * L);
        packed.dim(2).set_min(0).set_stride(g * L * groups);
        q.dim(0).set_bounds(0, g * groups);
        y.dim(0).set_bounds(0, packed.dim(2).extent() * L);
        row_scale.dim(0).set_bounds(0, packed.dim(2).extent() * L);
    }

    void schedule() {
        using namespace Halide;
        const int L = lanes;
        Var tile{"tile"}, step{"step"}, task{"task"}, ti{"ti"};
        // Rows in vectors of L, `tiles` of them per step, steps split into tasks;
        // N is a multiple of L (the packer pads, the buffer bounds say so).
        y.split(n, tile, ni, L, TailStrategy::RoundUp)
            .vectorize(ni)
            .split(tile, step, ti, tiles, TailStrategy::GuardWithIf)
            .unroll(ti)
            .split(step, task, step, tasks, TailStrategy::GuardWithIf)
            .parallel(task);
        acc.compute_at(y, step).vectorize(j).unroll(t);
        acc.update().reorder(r.x, j, t, r.y).atomic().vectorize(r.x).vectorize(j).unroll(t);
        if (dot_kind == 1) qsum.compute_root();
        get_pipeline().add_custom_lowering_pass(new SelectDotProducts);
    }

private:
    int group() const { return dot_kind == 0 ? 2 : 4; }
    Var j{"j"}, t{"t"}, n{"n"}, ni{"ni"};
    Func acc{"acc"}, qsum{"qsum"};
    Halide::RDom r;
};

}  // namespace tern

HALIDE_REGISTER_GENERATOR(tern::Int8GemvGenerator, int8_gemv)
