// What the three ternary families (tmad, tlut, tadd) share: the linear layer's
// interface, its output stage with both scales applied, and the outer schedule.
//
//   y(n, m) = w_scale * q_scale(m) * sum_k W(n, k) * q(k, m)
//
// W is ternary, N x K, packed in the family's layout; q holds M int8 activation
// rows of length K (K padded to the family's alignment with zeros). A family
// describes only the integer product dot(n, m) and how it is computed inside one
// register tile of `row_tile` weight rows by `m_tile` activation rows.
#pragma once

#include <string>

#include "Halide.h"
#include "cache_prefetch.h"
#include "select_dot_products.h"
#include "table_lookup.h"
#include "tern/knob_space.h"

namespace tern {

template <typename Family_>
class TernaryLinearGenerator : public Halide::Generator<Family_> {
public:
    template <typename T>
    using GeneratorParam = Halide::GeneratorParam<T>;
    template <typename T>
    using Input = Halide::GeneratorInput<T>;
    template <typename T>
    using Output = Halide::GeneratorOutput<T>;
    using Func = Halide::Func;
    using Var = Halide::Var;
    using Expr = Halide::Expr;

    GeneratorParam<int> m_tile{"m_tile", 1};
    GeneratorParam<int> unroll{"unroll", 1};
    GeneratorParam<int> prefetch{"prefetch", 0};
    GeneratorParam<int> prefetch_l2{"prefetch_l2", 0};
    GeneratorParam<int> tasks{"tasks", 1};
    // Problem size, used only as estimates when an autoscheduler schedules the
    // pipeline (the tuner's comparison); padded K and N, activation rows M.
    GeneratorParam<int> est_k{"est_k", 2560};
    GeneratorParam<int> est_n{"est_n", 2560};
    GeneratorParam<int> est_m{"est_m", 1};

    Input<Halide::Buffer<int8_t>> q{"q", 2};             // (K, M) activations
    Input<Halide::Buffer<float>> q_scale{"q_scale", 1};  // (M) activation scales
    Input<float> w_scale{"w_scale"};                     // per-tensor weight scale
    Output<Halide::Buffer<float>> y{"y", 2};             // (N, M)

protected:
    Var n{"n"}, m{"m"}, no{"no"}, ni{"ni"}, mo{"mo"}, mi{"mi"};
    Func row_acc{"acc"};
    Halide::RDom row_blocks;

    void check_knob(Family f, const std::string& name, int value) {
        if (!knob_value_is_legal(f, name, value)) {
            throw Halide::CompileError(std::string(family_name(f)) + ": illegal value " +
                                       std::to_string(value) + " for knob " + name +
                                       " (legal values: runtime/include/tern/knob_space.h)");
        }
    }

    void check_common_knobs(Family f) {
        check_knob(f, "m_tile", m_tile);
        check_knob(f, "unroll", unroll);
        check_knob(f, "prefetch", prefetch);
        check_knob(f, "prefetch_l2", prefetch_l2);
        if (prefetch_l2 > 0 && prefetch == 0)
            throw Halide::CompileError(std::string(family_name(f)) +
                                       ": prefetch_l2 needs prefetch > 0 (it extends those)");
        check_knob(f, "tasks", tasks);
    }

    // Sum of each activation row, for formulations that store w + 1.
    Func activation_sums() {
        Func xsum{"xsum"};
        Halide::RDom rk(0, q.dim(0).extent());
        xsum(m) = 0;
        xsum(m) += Halide::cast<int32_t>(q(rk, m));
        return xsum;
    }

    // The output stage: the integer product with both scales applied.
    void define_output(Func dot) {
        y(n, m) = Halide::cast<float>(dot(n, m)) * (q_scale(m) * w_scale);
        // Dense layouts with the alignment the generators assume.
        q.dim(0).set_min(0);
        q.dim(1).set_min(0).set_stride(q.dim(0).extent());
        y.dim(0).set_min(0);
        y.dim(1).set_min(0).set_stride(y.dim(0).extent());
    }

    // Schedules the register tiling of y: tiles of row_tile x m_tile, m tiles
    // innermost so a tile of weights stays in L1 while all activation rows pass
    // over it. Returns the loop level at which a family computes its product.
    Halide::LoopLevel schedule_output(int row_tile, int vector_lanes) {
        Var task{"task"};
        y.split(n, no, ni, row_tile)
            .split(m, mo, mi, m_tile)
            .reorder(ni, mi, mo, no)
            .vectorize(ni, vector_lanes)
            .unroll(mi);
        // Groups of `tasks` row tiles per parallel task; the last group may be
        // short (GuardWithIf: shifting it inwards would start before row 0 when a
        // matrix has fewer tiles than a group).
        y.split(no, task, no, tasks, Halide::TailStrategy::GuardWithIf).parallel(task);
        return Halide::LoopLevel(y, mo);
    }

    // For an autoscheduler: estimates of the shared inputs and the output. A
    // family adds its packed weights'.
    void set_common_estimates() {
        q.set_estimates({{0, est_k}, {0, est_m}});
        q_scale.set_estimates({{0, est_m}});
        w_scale.set_estimate(0.5f);
        y.set_estimates({{0, est_n}, {0, est_m}});
    }

    // For families whose vector lanes are weight rows (tadd, tlut): int16 sums of
    // blocks, acc16(j, m, blk, t) for row j of tile t, are widened and added in
    // int32 and read out as dot(n, m) over tiles of `rows` rows.
    Func widen_row_blocks(Func acc16, Expr block_count, int rows) {
        Var j{"j"}, t{"t"};
        row_blocks = Halide::RDom(0, block_count, "blocks");
        row_acc(j, m, t) = 0;
        row_acc(j, m, t) += Halide::cast<int32_t>(acc16(j, m, row_blocks, t));
        Func dot{"dot"};
        dot(n, m) = row_acc(n % rows, m, n / rows);
        return dot;
    }

    // Schedules widen_row_blocks inside the output tiles (prefetching `packed`
    // `prefetch` blocks ahead) and computes acc16 per block, rows vectorised and
    // activation rows unrolled. Returns acc16's activation-row Var for the caller
    // to finish scheduling its update.
    template <typename Packed>
    Var schedule_row_blocks(Func acc16, const Packed& packed, int rows) {
        const Halide::LoopLevel tile = schedule_output(rows, std::min(rows, 16));
        Var j{row_acc.args()[0]}, mv{row_acc.args()[1]};
        row_acc.compute_at(tile).vectorize(j).unroll(mv);
        row_acc.update().reorder(j, mv, row_blocks.x).vectorize(j).unroll(mv);
        if (prefetch > 0) row_acc.update().prefetch(packed, row_blocks.x, row_blocks.x, prefetch);
        acc16.compute_at(row_acc, row_blocks.x).vectorize(j).unroll(mv);
        return mv;
    }

    // Called from a family's schedule(): the pipeline exists only after generate().
    // load_bounds: buffers of small u8 values and their largest value (see
    // select_dot_products.h).
    // Prefetches (the prefetch knob) keep their lines, and prefetch_l2 KiB
    // further on into L2 (see cache_prefetch.h).
    void select_dot_products(std::map<std::string, uint64_t> load_bounds = {}) {
        this->get_pipeline().add_custom_lowering_pass(
            new SelectDotProducts(std::move(load_bounds)));
        if (prefetch > 0)
            add_cache_prefetches(this->get_target(), *this->get_externs_map(), this->get_pipeline(),
                                 1024 * prefetch_l2);
    }
    // Likewise, for families that look up lut16_ tables (see table_lookup.h).
    void select_table_lookups() {
        add_table_lookups(this->get_target(), *this->get_externs_map(), this->get_pipeline());
    }
};

}  // namespace tern
