// A lowering pass that lets Halide 14 use pmaddubsw and pmaddwd on x86 where
// they are exact.
//
// Halide 14 maps a pairwise SaturatingAdd reduction of u8 x s8 products to
// pmaddubsw, but the front end cannot express a saturating reduction (atomic()
// cannot prove saturating_add associative), and a plain Add reduction of the same
// products falls back to widening multiplies and shuffles. When the u8 operand is
// provably small, the pair sum cannot saturate, so Add and SaturatingAdd agree and
// the rewrite is exact. The bound comes from Halide's own interval analysis of the
// operand (for 2-bit codes, `(byte >> s) & 3` gives [0, 3]).
//
// Likewise a pairwise sum of int16 lanes into int32 has no pattern of its own and
// becomes sign extensions, horizontal adds and permutes; written as a dot product
// (of a widening product's own operands, widened to int16, else of the lanes
// with ones) it is one pmaddwd, exact for every input.
//
// Interval analysis cannot see through memory: where the u8 operand is loaded
// from a buffer a family filled with small values (tmad's codes decoded once per
// tile), the family names the buffer and its largest value.
#pragma once

#include <map>
#include <string>

#include "Halide.h"

namespace tern {

class SelectDotProducts : public Halide::Internal::IRMutator {
    using IRMutator::visit;
    std::map<std::string, uint64_t> load_bounds_;

public:
    explicit SelectDotProducts(std::map<std::string, uint64_t> load_bounds = {})
        : load_bounds_(std::move(load_bounds)) {}

private:
    Halide::Expr visit(const Halide::Internal::VectorReduce* op) override {
        using namespace Halide;
        using namespace Halide::Internal;
        Expr value = mutate(op->value);
        const int lanes = op->type.lanes();
        const Call* mul = Call::as_intrinsic(value, {Call::widening_mul});
        if (op->op == VectorReduce::Add && mul && op->type == Int(16, lanes) &&
            value.type().lanes() == 2 * lanes) {
            Expr a = mul->args[0], b = mul->args[1];
            if (a.type().is_int()) std::swap(a, b);
            if (a.type().element_of() == UInt(8) && b.type().element_of() == Int(8)) {
                Interval range = bounds_of_expr_in_scope(a, Scope<Interval>());
                const uint64_t* a_max =
                    range.has_upper_bound() ? as_const_uint(simplify(range.max)) : nullptr;
                if (const Load* load = a.as<Load>()) {
                    const auto named = load_bounds_.find(load->name);
                    if (named != load_bounds_.end() && (!a_max || named->second < *a_max))
                        a_max = &named->second;
                }
                // Two products of at most a_max * 128 each must fit in int16.
                if (a_max && *a_max * 128 * 2 <= 32767) {
                    return VectorReduce::make(VectorReduce::SaturatingAdd, value, lanes);
                }
            }
        }
        const Cast* widen = value.as<Cast>();
        if (op->op == VectorReduce::Add && widen && op->type == Int(32, lanes) &&
            widen->value.type() == Int(16, 2 * lanes)) {
            // A product of 8-bit values, which Halide writes as a widening
            // multiply into int16 (always exact), is pmaddwd's own multiply of
            // the operands widened, not a pmullw before a dot with ones.
            Expr a = widen->value, b = make_one(widen->value.type());
            const Type i16 = widen->value.type();
            if (const Call* mul = Call::as_intrinsic(widen->value, {Call::widening_mul})) {
                a = cast(i16, mul->args[0]);
                b = cast(i16, mul->args[1]);
            }
            Expr products =
                Call::make(value.type(), Call::widening_mul, {a, b}, Call::PureIntrinsic);
            return VectorReduce::make(VectorReduce::Add, products, lanes);
        }
        return VectorReduce::make(op->op, value, lanes);
    }
};

}  // namespace tern
