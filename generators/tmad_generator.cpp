// tmad: ternary multiply-add on 2-bit codes.
//
// Each weight is stored as the code c = w + 1 in {0, 1, 2}; then
//   sum_k w * x = sum_k c * x - sum_k x,
// and c * x is an unsigned-by-signed byte product, which every target multiplies
// four (x86 VNNI, ARM dot product) or two (x86 pmaddubsw) at a time.
//
// Layout ("row-interleaved quads"): a row tile holds R = 4 * lanes weight rows.
// For each quad of K (k = 4 * kq + b) the tile stores one vector of 4 * lanes
// bytes; byte 4 * j + b holds, in bits 2s..2s+1, the code of row s * lanes + j.
// One vector load and four shift-and-mask steps give four code vectors whose
// int32 lanes are rows and whose bytes within a lane are four consecutive k, so a
// single broadcast of q(4kq .. 4kq+3) multiplies all of them.
//
//   packed(4 * lanes, K / 4, N / R) uint8
#include "ternary_linear_generator.h"

namespace tern {

class TmadGenerator : public TernaryLinearGenerator<TmadGenerator> {
public:
    GeneratorParam<int> lanes{"lanes", 8};
    GeneratorParam<int> kblock{"kblock", 16};
    GeneratorParam<int> dot_kind{"dot", 0};
    GeneratorParam<int> unpack{"unpack", 0};

    Input<Halide::Buffer<uint8_t>> packed{"packed", 3};

    void generate() {
        using namespace Halide;
        check_common_knobs(Family::tmad);
        check_knob(Family::tmad, "lanes", lanes);
        check_knob(Family::tmad, "kblock", kblock);
        check_knob(Family::tmad, "dot", dot_kind);
        check_knob(Family::tmad, "unpack", unpack);
        const int L = lanes, R = 4 * L;
        const DotKind kind = static_cast<DotKind>(static_cast<int>(dot_kind));
        const bool in_place = unpack == 1;
        if (in_place && (kind != DotKind::pair16 || kblock > 16)) {
            throw CompileError("tmad: unpack=1 needs dot=0 (pair16) and kblock <= 16");
        }

        Var b{"b"}, j{"j"}, s{"s"}, kq{"kq"}, t{"t"}, p{"p"}, blk{"blk"};
        if (in_place) {
            // One shift by 4 per byte; codes 1 and 3 stay in bits 2-3 and are read
            // as 4c. Their int16 pair sums reach 2 * 8 * 128 and a block of 16
            // quads exactly fits int16 (codes never exceed 2: the packer writes
            // w + 1). The sums are scaled back by 4 below, which is exact.
            code(b, j, s, kq, t) = (packed(4 * j + b, kq, t) >> cast<uint8_t>(4 * (s / 2))) &
                                   cast<uint8_t>(select(s % 2 == 1, 12, 3));
        } else {
            code(b, j, s, kq, t) =
                (packed(4 * j + b, kq, t) >> cast<uint8_t>(2 * s)) & cast<uint8_t>(3);
        }
        xq(b, kq, m) = q(4 * kq + b, m);
        Expr quads = packed.dim(1).extent();
        xsum = activation_sums();

        Func dot{"dot"};
        if (kind == DotKind::pair16) {
            // Pairs of products summed in int16 (pmaddubsw) over a block of kblock
            // quads; |sum| <= kblock * 2 * 3 * 128 fits while kblock <= 42.
            RDom r(0, 2, 0, kblock, "r");
            Expr k = blk * kblock + r.y;
            acc16(p, j, s, m, blk, t) = cast<int16_t>(0);
            acc16(p, j, s, m, blk, t) +=
                cast<int16_t>(code(2 * p + r.x, j, s, k, t)) * cast<int16_t>(xq(2 * p + r.x, k, m));
            // Blocks widen into int32 with the two int16 halves of each row summed
            // (pmaddwd against ones, see select_dot_products.h).
            RDom rb(0, 2, 0, quads / kblock, "rb");
            acc(j, s, m, t) = 0;
            acc(j, s, m, t) += cast<int32_t>(acc16(rb.x, j, s, m, rb.y, t));
            Expr s_of_n = (n / L) % 4;
            Expr total = acc(n % L, s_of_n, m, n / R);
            if (in_place) total = total >> ((s_of_n % 2) * 2);
            dot(n, m) = total - xsum(m);
            reduce_pairs = r;
            reduce_blocks = rb;
        } else {
            // Quads straight into int32: vpdpbusd (u8 x s8) or sdot (s8 x s8).
            RDom r(0, 4, 0, quads, "r");
            Expr c = code(r.x, j, s, r.y, t);
            Expr w = kind == DotKind::quad32s ? cast<int32_t>(cast<int8_t>(c) - cast<int8_t>(1))
                                              : cast<int32_t>(c);
            acc(j, s, m, t) = 0;
            acc(j, s, m, t) += w * cast<int32_t>(xq(r.x, r.y, m));
            Expr total = acc(n % L, (n / L) % 4, m, n / R);
            dot(n, m) = kind == DotKind::quad32s ? total : total - xsum(m);
            reduce_quads = r;
        }
        define_output(dot);

        packed.dim(0).set_bounds(0, R);
        packed.dim(1).set_min(0).set_stride(R);
        packed.dim(2).set_min(0);
        q.dim(0).set_extent(4 * quads);
        y.dim(0).set_extent(packed.dim(2).extent() * R);
    }

    void schedule() {
        const DotKind kind = static_cast<DotKind>(static_cast<int>(dot_kind));
        const int L = lanes, R = 4 * L;
        if (get_auto_schedule()) {
            set_common_estimates();
            packed.set_estimates({{0, R}, {0, est_k / 4}, {0, est_n / R}});
            select_dot_products();
            return;
        }
        tile_level = schedule_output(R, L);
        if (kind != DotKind::quad32s) xsum.compute_root();
        if (kind == DotKind::pair16) {
            Var j{acc.args()[0]}, s{acc.args()[1]}, mv{acc.args()[2]};
            Var p{acc16.args()[0]};
            const Halide::RVar half = reduce_blocks.x, block = reduce_blocks.y;
            acc.compute_at(tile_level).vectorize(j).unroll(s).unroll(mv);
            acc.update()
                .reorder(half, j, s, mv, block)
                .atomic()
                .vectorize(half)
                .vectorize(j)
                .unroll(s)
                .unroll(mv);
            if (prefetch > 0) {
                // Tiles are contiguous, so prefetch runs on past the tile's end into
                // the next one; prefetches never fault, even past the buffer.
                acc.update().prefetch(packed, block, block, prefetch,
                                      Halide::PrefetchBoundStrategy::NonFaulting);
            }
            acc16.compute_at(acc, block).vectorize(p).vectorize(j).unroll(s).unroll(mv);
            acc16.update()
                .reorder(reduce_pairs.x, p, j, s, mv, reduce_pairs.y)
                .atomic()
                .vectorize(reduce_pairs.x)
                .vectorize(p)
                .vectorize(j)
                .unroll(s)
                .unroll(mv);
            if (unroll > 1) acc16.update().unroll(reduce_pairs.y, unroll);
        } else {
            Var j{acc.args()[0]}, s{acc.args()[1]}, mv{acc.args()[2]};
            acc.compute_at(tile_level).vectorize(j).unroll(s).unroll(mv);
            acc.update()
                .reorder(reduce_quads.x, j, s, mv, reduce_quads.y)
                .atomic()
                .vectorize(reduce_quads.x)
                .vectorize(j)
                .unroll(s)
                .unroll(mv);
            if (unroll > 1) acc.update().unroll(reduce_quads.y, unroll);
            if (prefetch > 0) {
                acc.update().prefetch(packed, reduce_quads.y, reduce_quads.y,
                                      int(prefetch) * int(kblock),
                                      Halide::PrefetchBoundStrategy::NonFaulting);
            }
        }
        select_dot_products();
    }

private:
    Func code{"code"}, xq{"xq"}, acc16{"acc16"}, acc{"acc"}, xsum{"xsum"};
    Halide::RDom reduce_pairs, reduce_blocks, reduce_quads;
    Halide::LoopLevel tile_level;
};

}  // namespace tern

HALIDE_REGISTER_GENERATOR(tern::TmadGenerator, tmad)
