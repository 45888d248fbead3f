// Vector table lookups (x86 pshufb, ARM tbl) for Halide 14, which has no
// lowering of its own for them on either architecture.
//
// A family writes a lookup as an ordinary load from a table Func whose name
// starts with "lut16_": lut16_xxx(cast<int>(idx), ...), with idx a uint8 below
// 16 and the table's first dimension 16 bytes, dense. Halide vectorises that
// as a gather; SelectTableLookups (a custom lowering pass) replaces each such
// load, where idx is a vector of bytes and the rest of the address one scalar,
// by a call to the pure extern tern_lut16(table, idx) on the 16 table bytes,
// repeated per 128-bit lane. Its vector versions tern_lut16x16 and x32 come as
// LLVM bitcode linked into the pipeline (add_table_lookup_code): one pshufb or
// tbl each, inlined. Lookups the pass does not recognise stay gathers: slower,
// never wrong.
#pragma once

#include <string>
#include <vector>

#include "Halide.h"
#include "llvm_bitcode.h"

namespace tern {

class SelectTableLookups : public Halide::Internal::IRMutator {
    using IRMutator::visit;

    // Vector lets in scope: Halide often names a lookup's index in one.
    Halide::Internal::Scope<Halide::Expr> lets_;

    template <typename LetOrLetStmt>
    auto visit_let(const LetOrLetStmt* op) {
        const bool vector = op->value.type().is_vector();
        if (vector) lets_.push(op->name, op->value);
        auto result = IRMutator::visit(op);
        if (vector) lets_.pop(op->name);
        return result;
    }
    Halide::Expr visit(const Halide::Internal::Let* op) override { return visit_let(op); }
    Halide::Internal::Stmt visit(const Halide::Internal::LetStmt* op) override {
        return visit_let(op);
    }

    Halide::Expr visit(const Halide::Internal::Load* op) override {
        using namespace Halide;
        using namespace Halide::Internal;
        const int lanes = op->type.lanes();
        if (op->name.rfind("lut16_", 0) != 0 || op->type.bits() != 8 || lanes < 16 ||
            lanes % 16 != 0)
            return IRMutator::visit(op);
        Expr index = op->index;
        if (const Variable* v = index.as<Variable>(); v && lets_.contains(v->name))
            index = lets_.get(v->name);
        // index = base + cast<int32>(idx): base one scalar, idx bytes below 16.
        const Add* add = index.as<Add>();
        if (!add) return IRMutator::visit(op);
        Expr a = add->a, b = add->b;
        if (!a.as<Broadcast>()) std::swap(a, b);
        const Broadcast* base = a.as<Broadcast>();
        const Cast* widen = b.as<Cast>();
        if (!base || !widen || widen->value.type().element_of() != UInt(8))
            return IRMutator::visit(op);
        const Interval range = bounds_of_expr_in_scope(widen->value, Scope<Interval>());
        const uint64_t* top =
            range.has_upper_bound() ? as_const_uint(simplify(range.max)) : nullptr;
        if (!top || *top > 15) return IRMutator::visit(op);
        const Type bytes = UInt(8, 16);
        Expr table = Load::make(bytes, op->name, Ramp::make(base->value, 1, 16), op->image,
                                op->param, const_true(16), ModulusRemainder());
        if (op->type.element_of() != UInt(8)) {
            table = Call::make(op->type.with_lanes(16), Call::reinterpret, {table},
                               Call::PureIntrinsic);
        }
        std::vector<Expr> copies(lanes / 16, table);
        Expr lookup =
            Call::make(op->type, "tern_lut16", {Shuffle::make_concat(copies), mutate(widen->value)},
                       Call::PureExtern);
        return lookup;
    }
};

// The vector versions of tern_lut16 for `target`, as LLVM IR text (empty for
// architectures without a 16-byte table lookup).
inline std::string table_lookup_ir(const Halide::Target& target) {
    auto wrap = [](int lanes, const std::string& intrinsic) {
        const std::string v = "<" + std::to_string(lanes) + " x i8>";
        return "define weak_odr hidden " + v + " @tern_lut16x" + std::to_string(lanes) + "(" + v +
               " %t, " + v + " %i) #0 {\n  %r = call " + v + " @" + intrinsic + "(" + v + " %t, " +
               v + " %i)\n  ret " + v + " %r\n}\ndeclare " + v + " @" + intrinsic + "(" + v + ", " +
               v + ")\n";
    };
    std::string ir;
    if (target.arch == Halide::Target::X86) {
        ir = wrap(16, "llvm.x86.ssse3.pshuf.b.128");
        if (target.has_feature(Halide::Target::AVX2)) ir += wrap(32, "llvm.x86.avx2.pshuf.b");
    } else if (target.arch == Halide::Target::ARM && target.bits == 64) {
        ir = wrap(16, "llvm.aarch64.neon.tbl1.v16i8");
    }
    if (!ir.empty()) ir += "attributes #0 = { alwaysinline nounwind readnone }\n";
    return ir;
}

// Links tern_lut16's vector versions for `target` into a generator's pipeline
// (through its externs map) and adds the pass that calls them. Call from
// schedule(), as TernaryLinearGenerator::select_table_lookups does.
inline void add_table_lookups(const Halide::Target& target,
                              Halide::GeneratorContext::ExternsMap& externs,
                              Halide::Pipeline pipeline) {
    const std::string ir = table_lookup_ir(target);
    if (!ir.empty()) link_llvm_ir(target, externs, "org.tern.lut16", ir);
    pipeline.add_custom_lowering_pass(new SelectTableLookups);
}

}  // namespace tern
