// int8-row GEMV/GEMM for the LM head: the head repacked to int8 rows with one
// scale per row, times M int8 activation rows (one per sequence of a batch).
//   y(n, m) = float(sum_k W(n, k) * q(k, m)) * (row_scale(n) * q_scale(m))
//
// Layout ("row tiles of k-groups", written by tern::Int8Rows): a tile holds
// `lanes` weight rows; for each group of g consecutive k it stores g * lanes
// bytes, byte g * j + b holding W(tile * lanes + j, g * kg + b). The tile is one
// sequential stream, one vector load gives every row of the tile a group of k
// in its own int32 lane, and a broadcast of q(g * kg .. g * kg + g - 1, m)
// multiplies them all; with m_tile > 1 that load serves m_tile activation rows
// (the batched head of a serving step reads the head once, not once per
// sequence). The dot kind sets g and the byte encoding:
//   dot 0 (pair16): g = 2, bytes are W; widened to int16 and multiplied in
//         pairs into int32 lanes (pmaddwd) on any x86.
//   dot 1 (quad32): g = 4, bytes are W + 128 (unsigned), times signed q in
//         quads (vpdpbusd with AVX-512 VNNI); the sum then carries 128 * sum(q),
//         subtracted once per activation row.
//   dot 2 (quad32s): g = 4, bytes are W, signed by signed quads (ARM sdot).
//   packed(g * lanes, K / g, N / lanes) uint8
#include "Halide.h"
#include "cache_prefetch.h"
#include "select_dot_products.h"

namespace tern {

class Int8GemvGenerator : public Halide::Generator<Int8GemvGenerator> {
public:
    GeneratorParam<int> lanes{"lanes", 8};        // rows per tile: int32 lanes of a vector
    GeneratorParam<int> dot_kind{"dot", 0};       // see above
    GeneratorParam<int> tiles{"tiles", 4};        // tiles per step: independent accumulators
    GeneratorParam<int> tasks{"tasks", 16};       // parallel tasks per call
    GeneratorParam<int> m_tile{"m_tile", 1};      // activation rows per pass over a tile
    GeneratorParam<int> prefetch{"prefetch", 0};  // k-groups ahead to prefetch (0: none)

    Input<Halide::Buffer<uint8_t>> packed{"packed", 3};
    Input<Halide::Buffer<float>> row_scale{"row_scale", 1};  // (N)
    Input<Halide::Buffer<int8_t>> q{"q", 2};                 // (K, M)
    Input<Halide::Buffer<float>> q_scale{"q_scale", 1};      // (M)
    Output<Halide::Buffer<float>> y{"y", 2};                 // (N, M)

    void generate() {
        using namespace Halide;
        if (dot_kind < 0 || dot_kind > 2) throw CompileError("int8_gemv: dot must be 0, 1 or 2");
        if (lanes < 4 || tiles < 1 || tasks < 1 || m_tile < 1 || prefetch < 0)
            throw CompileError(
                "int8_gemv: lanes >= 4, tiles, tasks and m_tile >= 1, prefetch >= 0 expected");
        const int L = lanes, g = group();
        Expr groups = packed.dim(1).extent();
        r = RDom(0, g, 0, groups, "r");
        // A tile of m_tile rows may pass the last activation row: those lanes
        // read the last row again and are never stored.
        Expr row = clamp(mm, 0, q.dim(1).extent() - 1);
        Expr byte = packed(g * j + r.x, r.y, t);
        Expr w = dot_kind == 1 ? cast<int32_t>(byte) : cast<int32_t>(cast<int8_t>(byte));
        Expr x = cast<int32_t>(q(g * r.y + r.x, row));
        if (dot_kind == 0) {
            // int16 x int16 products, summed in pairs (pmaddwd).
            w = cast<int32_t>(cast<int16_t>(cast<int8_t>(byte)));
            x = cast<int32_t>(cast<int16_t>(q(g * r.y + r.x, row)));
        }
        acc(j, mm, t) = 0;
        acc(j, mm, t) += w * x;
        Expr dot = acc(n % L, m, n / L);
        if (dot_kind == 1) {
            RDom rk(0, g * groups, "rk");
            qsum(mm) = 0;
            qsum(mm) += cast<int32_t>(q(rk, mm));
            dot -= 128 * qsum(m);
        }
        y(n, m) = cast<float>(dot) * (row_scale(n) * q_scale(m));

        packed.dim(0).set_bounds(0, g * L);
        packed.dim(1).set_min(0).set_stride(g * L);
        packed.dim(2).set_min(0).set_stride(g * L * groups);
        q.dim(0).set_bounds(0, g * groups);
        q.dim(1).set_min(0).set_stride(g * groups);
        q_scale.dim(0).set_min(0);
        y.dim(0).set_bounds(0, packed.dim(2).extent() * L);
        y.dim(1).set_min(0).set_stride(packed.dim(2).extent() * L);
        row_scale.dim(0).set_bounds(0, packed.dim(2).extent() * L);
    }

    void schedule() {
        using namespace Halide;
        const int L = lanes;
        Var tile{"tile"}, step{"step"}, task{"task"}, ti{"ti"}, mo{"mo"}, mi{"mi"};
        // Rows in vectors of L, `tiles` of them per step, activation rows in
        // groups of m_tile inside a step (the step's weights stay in L1 while they
        // pass), steps split into tasks; N is a multiple of L (the packer pads,
        // the buffer bounds say so).
        y.split(n, tile, ni, L, TailStrategy::RoundUp)
            .vectorize(ni)
            .split(tile, step, ti, tiles, TailStrategy::GuardWithIf)
            .split(m, mo, mi, m_tile, TailStrategy::GuardWithIf)
            .reorder(ni, ti, mi, mo, step)
            .unroll(ti)
            .unroll(mi)
            .split(step, task, step, tasks, TailStrategy::GuardWithIf)
            .parallel(task);
        acc.compute_at(y, mo).vectorize(j).unroll(mm).unroll(t);
        acc.update()
            .reorder(r.x, j, mm, t, r.y)
            .atomic()
            .vectorize(r.x)
            .vectorize(j)
            .unroll(mm)
            .unroll(t);
        // The tile's stream some k-groups ahead (past its end into the next
        // tile: prefetches never fault).
        if (prefetch > 0) acc.update().prefetch(packed, r.y, r.y, prefetch);
        if (dot_kind == 1) qsum.compute_root();
        get_pipeline().add_custom_lowering_pass(new SelectDotProducts);
        if (prefetch > 0) add_cache_prefetches(get_target(), *get_externs_map(), get_pipeline());
    }

private:
    int group() const { return dot_kind == 0 ? 2 : 4; }
    Var j{"j"}, t{"t"}, n{"n"}, ni{"ni"}, m{"m"}, mm{"mm"};
    Func acc{"acc"}, qsum{"qsum"};
    Halide::RDom r;
};

}  // namespace tern

HALIDE_REGISTER_GENERATOR(tern::Int8GemvGenerator, int8_gemv)
