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
//
// base3=1 stores five weights in each byte instead of four (1.6 bits per weight):
// the tile holds R = 5 * lanes rows, and byte 4 * j + b holds the codes c_s of rows
// s * lanes + j (s = 0..4) as v = ceil(256 * idx / 243), idx = sum_s c_s 3^(4-s)
// (TQ1_0's digit order). Then t_s = 3^s v mod 256 carries digit s in its top:
//   c_s = floor(3 t_s / 256), and 3 t_s = t_(s+1) + 256 c_s,
// so for u8 x s8 dot products (dot=1) the digits never need extracting:
//   sum_k c_s x = (3 sum_k t_s x - sum_k t_(s+1) x) / 256, exactly,
// six dot products over the multiples t_0..t_5 of each byte. The other dot kinds
// extract c_s and proceed as for 2-bit codes.
#include "byte_triples.h"
#include "ternary_linear_generator.h"

namespace tern {

class TmadGenerator : public TernaryLinearGenerator<TmadGenerator> {
public:
    GeneratorParam<int> lanes{"lanes", 8};
    GeneratorParam<int> kblock{"kblock", 16};
    GeneratorParam<int> dot_kind{"dot", 0};
    GeneratorParam<int> unpack{"unpack", 0};
    GeneratorParam<int> base3{"base3", 0};
    GeneratorParam<int> decode{"decode", 0};
    GeneratorParam<int> chains{"chains", 1};

    Input<Halide::Buffer<uint8_t>> packed{"packed", 3};

    void generate() {
        using namespace Halide;
        check_common_knobs(Family::tmad);
        check_knob(Family::tmad, "lanes", lanes);
        check_knob(Family::tmad, "kblock", kblock);
        check_knob(Family::tmad, "dot", dot_kind);
        check_knob(Family::tmad, "unpack", unpack);
        check_knob(Family::tmad, "base3", base3);
        check_knob(Family::tmad, "decode", decode);
        check_knob(Family::tmad, "chains", chains);
        const int L = lanes, P = codes_per_byte(base3), R = P * L;
        const DotKind kind = static_cast<DotKind>(static_cast<int>(dot_kind));
        if (const char* why =
                tmad_knob_conflict(kind, unpack, base3, decode, kblock, chains, m_tile)) {
            throw CompileError(std::string("tmad: ") + why);
        }
        const bool in_place = unpack == 1;
        // Sums of digit multiples t_s rather than of digits (see the top), unless
        // digits are decoded once per tile: then extracting them costs less than a
        // sixth dot product per byte in every pass.
        const bool carry = tmad_carries(base3, kind, decode);
        const bool by_additions = multiples_by_additions();

        Var b{"b"}, j{"j"}, s{"s"}, kq{"kq"}, t{"t"}, p{"p"}, blk{"blk"};
        if (in_place && kind == DotKind::pair16) {
            // One shift by 4 per byte; codes 1 and 3 stay in bits 2-3 and are read
            // as 4c. Their int16 pair sums reach 2 * 8 * 128 and a block of 16
            // quads exactly fits int16 (codes never exceed 2: the packer writes
            // w + 1). The sums are scaled back by 4 below, which is exact.
            code(b, j, s, kq, t) = (packed(4 * j + b, kq, t) >> cast<uint8_t>(4 * (s / 2))) &
                                   cast<uint8_t>(select(s % 2 == 1, 12, 3));
        } else if (in_place) {
            // No shifts at all: code s is masked where it lies and read as 4^s c,
            // at most 2 * 64 = 128, still a u8. Quads go straight into int32, where
            // |sum| <= K * 128 * 128 fits while K < 2^17 (required below); the
            // sums are scaled back by 4^s below, which is exact.
            code(b, j, s, kq, t) = packed(4 * j + b, kq, t) &
                                   cast<uint8_t>(select(s == 0, 3, s == 1, 12, s == 2, 48, 192));
        } else if (base3) {
            // t_s = 3^s v mod 256, written per s so that unrolled s loops fold it:
            // by byte additions on x86 (byte_triples.h), by products elsewhere.
            // Extracted digits come from t_s - 128 (the byte's top bit flipped):
            // tripling modulo 256 keeps that offset, 3 (t - 128) = 3 t - 128
            // (mod 256), and then floor(3 t / 256) = [t >= 86] + [t >= 171] is
            // two signed byte compares (pcmpgtb), which x86 has and unsigned
            // ones it lacks. Their sum is bounded by 2 for select_dot_products.h.
            Expr v = packed(4 * j + b, kq, t);
            if (!carry) v = v ^ cast<uint8_t>(128);
            Expr ts = v, multiple = v;
            for (int d = 1, p3 = 3; d <= 5; ++d, p3 *= 3) {
                multiple = by_additions ? triple_bytes(multiple) : v * cast<uint8_t>(p3 % 256);
                ts = select(s == d, multiple, ts);
            }
            Expr centred = cast<int8_t>(ts);
            Expr digit = select(centred > cast<int8_t>(-43), cast<uint8_t>(1), cast<uint8_t>(0)) +
                         select(centred > cast<int8_t>(42), cast<uint8_t>(1), cast<uint8_t>(0));
            code(b, j, s, kq, t) = carry ? ts : digit;
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
            Expr s_of_n = (n / L) % P;
            Expr total = acc(n % L, s_of_n, m, n / R);
            if (in_place) total = total >> ((s_of_n % 2) * 2);
            dot(n, m) = total - xsum(m);
            reduce_pairs = r;
            reduce_blocks = rb;
        } else {
            // Quads straight into int32: vpdpbusd (u8 x s8) or sdot (s8 x s8).
            // Consecutive quads go to `chains` separate sums (quad kq to sum
            // kq % chains), which the schedule keeps in registers side by side:
            // each dot product then waits on one `chains` steps back, not on the
            // last, so their latency overlaps. K is padded to 4 * kblock, a
            // multiple of 4 * chains.
            const int C = chains;
            Var ch{"ch"};
            RDom r(0, 4, 0, quads / C, "r");
            Expr k = C * r.y + ch;
            Expr c = code(r.x, j, s, k, t);
            Expr w = kind == DotKind::quad32s ? cast<int32_t>(cast<int8_t>(c) - cast<int8_t>(1))
                                              : cast<int32_t>(c);
            acc(j, s, ch, m, t) = 0;
            acc(j, s, ch, m, t) += w * cast<int32_t>(xq(r.x, k, m));
            Expr j_of_n = n % L, s_of_n = (n / L) % P;
            auto chained = [&](Expr digit) {
                Expr sum = acc(j_of_n, digit, 0, m, n / R);
                for (int i = 1; i < C; ++i) sum += acc(j_of_n, digit, i, m, n / R);
                return sum;
            };
            Expr total = chained(s_of_n);
            if (carry) total = (3 * total - chained(s_of_n + 1)) >> 8;
            if (in_place) total = total >> (2 * s_of_n);
            dot(n, m) = kind == DotKind::quad32s ? total : total - xsum(m);
            reduce_quads = r;
        }
        define_output(dot);

        if (in_place && kind == DotKind::quad32u) {
            add_requirement(quads < (1 << 15), "tmad unpack=1 dot=1: K must be below 131072, got",
                            4 * quads);
        }
        packed.dim(0).set_bounds(0, 4 * L);
        packed.dim(1).set_min(0).set_stride(4 * L);
        packed.dim(2).set_min(0);
        q.dim(0).set_extent(4 * quads);
        y.dim(0).set_extent(packed.dim(2).extent() * R);
    }

    void schedule() {
        const DotKind kind = static_cast<DotKind>(static_cast<int>(dot_kind));
        const int L = lanes, R = codes_per_byte(base3) * L;
        // Code vectors are a row tile's 4 * lanes bytes.
        if (multiples_by_additions()) add_byte_triples(get_target(), *get_externs_map(), 4 * L);
        if (get_auto_schedule()) {
            set_common_estimates();
            packed.set_estimates({{0, 4 * L}, {0, est_k / 4}, {0, est_n / R}});
            select_dot_products();
            return;
        }
        tile_level = schedule_output(R, L);
        if (kind != DotKind::quad32s) xsum.compute_root();
        if (decode) {
            // Codes (or base-3 multiples) of a whole row tile, one vector per k quad
            // and digit, unpacked once and read by every activation tile: for GEMMs,
            // where unpacking per pass over the tile costs more than a load.
            Var b{code.args()[0]}, j{code.args()[1]}, s{code.args()[2]};
            code.compute_at(y, no).vectorize(b).vectorize(j).unroll(s);
        }
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
            Var j{acc.args()[0]}, s{acc.args()[1]}, ch{acc.args()[2]}, mv{acc.args()[3]};
            acc.compute_at(tile_level).vectorize(j).unroll(s).unroll(ch).unroll(mv);
            acc.update()
                .reorder(reduce_quads.x, j, s, ch, mv, reduce_quads.y)
                .atomic()
                .vectorize(reduce_quads.x)
                .vectorize(j)
                .unroll(s)
                .unroll(ch)
                .unroll(mv);
            if (unroll > 1) acc.update().unroll(reduce_quads.y, unroll);
            if (prefetch > 0) {
                // reduce_quads.y steps `chains` quads at a time.
                acc.update().prefetch(packed, reduce_quads.y, reduce_quads.y,
                                      int(prefetch) * int(kblock) / int(chains),
                                      Halide::PrefetchBoundStrategy::NonFaulting);
            }
        }
        // Codes decoded once per tile are read back from memory: 2-bit codes and
        // base-3 digits are at most 3, in-place codes at most 12 (never the
        // carried multiples: those are not decoded).
        select_dot_products(decode ? std::map<std::string, uint64_t>{{code.name(), 12}}
                                   : std::map<std::string, uint64_t>{});
    }

private:
    // Base-3 digit multiples by byte additions (byte_triples.h) on this target.
    bool multiples_by_additions() const { return base3 && triples_by_additions(get_target()); }

    Func code{"code"}, xq{"xq"}, acc16{"acc16"}, acc{"acc"}, xsum{"xsum"};
    Halide::RDom reduce_pairs, reduce_blocks, reduce_quads;
    Halide::LoopLevel tile_level;
};

}  // namespace tern

HALIDE_REGISTER_GENERATOR(tern::TmadGenerator, tmad)
