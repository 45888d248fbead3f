// int4-row GEMV/GEMM for the LM head (--lm-head int4): rows quantised to 4 bits
// in groups of 64 values along K, one half-precision scale per group:
//   y(n, m) = q_scale(m) * sum_g scale(n, g) * sum_{k in g} W(n, k) * q(k, m)
// with W in [-8, 7]. That is 4.25 bits per weight, against int8's 8.
//
// Layout (written by tern::Int4Rows): a tile holds R = 2 * lanes rows. For each
// quad of K (k = 4 * kq + b) it stores one vector of 4 * lanes bytes; byte
// 4 * j + b holds W + 8 of row j in its low nibble and of row lanes + j in its
// high nibble, so one load and two unpacks (mask, shift) give both halves of
// the tile an unsigned quad per int32 lane, times a broadcast of q(4kq..4kq+3).
// The bias of 8 comes back out per group as 8 * sum of that group's q. Scales
// are a separate stream, (2 * lanes, K / 64, N / R) halves.
//   packed(4 * lanes, K / 4, N / R) uint8, scale(2 * lanes, K / 64, N / R) uint16
//
// The dot kind is int8_gemv's: 0 int16 pairs (pmaddwd), 1 u8 x s8 quads
// (vpdpbusd), 2 s8 x s8 quads on W itself (sdot, no bias to remove).
#include "Halide.h"
#include "select_dot_products.h"

namespace tern {

class Int4GemvGenerator : public Halide::Generator<Int4GemvGenerator> {
public:
    GeneratorParam<int> lanes{"lanes", 8};    // int32 lanes of a vector; a tile is 2 * lanes rows
    GeneratorParam<int> dot_kind{"dot", 0};   // see above
    GeneratorParam<int> tasks{"tasks", 16};   // row tiles per parallel task
    GeneratorParam<int> m_tile{"m_tile", 1};  // activation rows per pass over a tile

    Input<Halide::Buffer<uint8_t>> packed{"packed", 3};
    Input<Halide::Buffer<uint16_t>> scale{"scale", 3};   // f16 bits
    Input<Halide::Buffer<int8_t>> q{"q", 2};             // (K, M)
    Input<Halide::Buffer<float>> q_scale{"q_scale", 1};  // (M)
    Output<Halide::Buffer<float>> y{"y", 2};             // (N, M)

    static constexpr int kGroup = 64;  // K values per scale
    static constexpr int kQuads = kGroup / 4;

    void generate() {
        using namespace Halide;
        if (dot_kind < 0 || dot_kind > 2) throw CompileError("int4_gemv: dot must be 0, 1 or 2");
        if (lanes < 4 || tasks < 1 || m_tile < 1)
            throw CompileError("int4_gemv: lanes >= 4, tasks and m_tile >= 1 expected");
        const int L = lanes, R = 2 * L;
        Expr groups = scale.dim(1).extent();
        // A tile of m_tile rows may pass the last activation row: those lanes
        // read the last row again and are never stored.
        Expr row = clamp(mm, 0, q.dim(1).extent() - 1);

        nibble(b, j, s, quad, t) =
            (packed(4 * j + b, quad, t) >> cast<uint8_t>(4 * s)) & cast<uint8_t>(15);
        r = RDom(0, 4, 0, kQuads, "r");
        Expr kq = kQuads * g + r.y;
        const Expr code = nibble(r.x, j, s, kq, t), act = q(4 * kq + r.x, row);
        Expr w = cast<int32_t>(code), x = cast<int32_t>(act);
        if (dot_kind == 0) {
            w = cast<int32_t>(cast<int16_t>(code));
            x = cast<int32_t>(cast<int16_t>(act));
        } else if (dot_kind == 2) {
            w = cast<int32_t>(cast<int8_t>(code) - cast<int8_t>(8));
        }
        group_dot(j, s, mm, g, t) = 0;
        group_dot(j, s, mm, g, t) += w * x;
        rg = RDom(0, groups, "rg");
        Expr dot = group_dot(j, s, mm, rg, t);
        if (dot_kind != 2) {
            RDom rk(0, kGroup, "rk");
            qsum(mm, g) = 0;
            qsum(mm, g) += cast<int32_t>(q(kGroup * g + rk, mm));
            dot -= 8 * qsum(row, rg);
        }
        Expr group_scale = cast<float>(reinterpret(Float(16), scale(s * L + j, rg, t)));
        acc(j, s, mm, t) = 0.0f;
        acc(j, s, mm, t) += cast<float>(dot) * group_scale;
        y(n, m) = acc(n % L, (n / L) % 2, m, n / R) * q_scale(m);

        packed.dim(0).set_bounds(0, 4 * L);
        packed.dim(1).set_min(0).set_stride(4 * L);
        packed.dim(2).set_min(0);
        scale.dim(0).set_bounds(0, R);
        scale.dim(1).set_min(0).set_stride(R);
        scale.dim(2).set_min(0);
        q.dim(0).set_bounds(0, kGroup * groups);
        q.dim(1).set_min(0).set_stride(kGroup * groups);
        q_scale.dim(0).set_min(0);
        y.dim(0).set_bounds(0, packed.dim(2).extent() * R);
        y.dim(1).set_min(0).set_stride(packed.dim(2).extent() * R);
    }

    void schedule() {
        using namespace Halide;
        const int L = lanes, R = 2 * L;
        Var no{"no"}, ni{"ni"}, mo{"mo"}, mi{"mi"}, task{"task"};
        y.split(n, no, ni, R)
            .split(m, mo, mi, m_tile, TailStrategy::GuardWithIf)
            .reorder(ni, mi, mo, no)
            .vectorize(ni, L)
            .unroll(mi)
            .split(no, task, no, tasks, TailStrategy::GuardWithIf)
            .parallel(task);
        acc.compute_at(y, mo).vectorize(j).unroll(s).unroll(mm);
        acc.update().reorder(j, s, mm, rg).vectorize(j).unroll(s).unroll(mm);
        group_dot.compute_at(acc, rg).vectorize(j).unroll(s).unroll(mm);
        group_dot.update()
            .reorder(r.x, j, s, mm, r.y)
            .atomic()
            .vectorize(r.x)
            .vectorize(j)
            .unroll(s)
            .unroll(mm);
        if (dot_kind != 2) qsum.compute_root();
        get_pipeline().add_custom_lowering_pass(new SelectDotProducts);
    }

private:
    Var b{"b"}, j{"j"}, s{"s"}, quad{"quad"}, t{"t"}, g{"g"}, n{"n"}, m{"m"}, mm{"mm"};
    Func nibble{"nibble"}, group_dot{"group_dot"}, qsum{"qsum"}, acc{"acc"};
    Halide::RDom r, rg;
};

}  // namespace tern

HALIDE_REGISTER_GENERATOR(tern::Int4GemvGenerator, int4_gemv)
