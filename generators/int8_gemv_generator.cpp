// int8-row GEMV for the LM head: the tied embedding repacked to int8 rows with
// one scale per row, times one int8 activation row.
//   y(n) = float(sum_k W(k, n) * q(k)) * (row_scale(n) * q_scale)
// Signed-by-signed bytes have no single x86 instruction before VNNI-INT8, so both
// sides are widened to int16 and multiplied in pairs (pmaddwd): a factor-2
// reduction over 16-weight chunks of each row. K must be a multiple of 16 and N
// at least one tile of rows.
#include "Halide.h"

namespace tern {

class Int8GemvGenerator : public Halide::Generator<Int8GemvGenerator> {
public:
    GeneratorParam<int> rows_per_tile{"rows", 8};
    GeneratorParam<int> tasks{"tasks", 16};

    Input<Halide::Buffer<int8_t>> w{"w", 2};                 // (K, N) row-major
    Input<Halide::Buffer<float>> row_scale{"row_scale", 1};  // (N)
    Input<Halide::Buffer<int8_t>> q{"q", 1};                 // (K)
    Input<float> q_scale{"q_scale"};
    Output<Halide::Buffer<float>> y{"y", 1};  // (N)

    void generate() {
        using namespace Halide;
        Expr chunks = w.dim(0).extent() / 16;
        r = RDom(0, 2, 0, chunks, "r");
        Expr k = 16 * r.y + 2 * l + r.x;
        partial(l, n) = 0;
        partial(l, n) += cast<int32_t>(cast<int16_t>(w(k, n))) * cast<int32_t>(cast<int16_t>(q(k)));
        rl = RDom(0, 8, "rl");
        total(n) = 0;
        total(n) += partial(rl, n);
        y(n) = cast<float>(total(n)) * (row_scale(n) * q_scale);

        w.dim(0).set_min(0);
        w.dim(1).set_min(0).set_stride(w.dim(0).extent());
        q.dim(0).set_min(0);
        y.dim(0).set_min(0);
    }

    void schedule() {
        using namespace Halide;
        Var no{"no"}, ni{"ni"}, task{"task"};
        // N must be at least one tile; the last tile shifts inwards.
        y.split(n, no, ni, rows_per_tile)
            .vectorize(ni)
            .split(no, task, no, tasks, TailStrategy::GuardWithIf)
            .parallel(task);
        total.compute_at(y, no).vectorize(n);
        total.update().reorder(n, rl.x).vectorize(n);
        partial.compute_at(y, no).vectorize(l);
        partial.update().reorder(r.x, l, n, r.y).atomic().vectorize(r.x).vectorize(l).unroll(n);
    }

private:
    Var l{"l"}, n{"n"};
    Func partial{"partial"}, total{"total"};
    Halide::RDom r, rl;
};

}  // namespace tern

HALIDE_REGISTER_GENERATOR(tern::Int8GemvGenerator, int8_gemv)
