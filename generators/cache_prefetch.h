// Prefetches that keep their lines, for Halide 14's schedule prefetch().
//
// Halide 14 emits every prefetch with no temporal locality (x86 prefetchnta):
// the line is brought close to the core but marked first to evict, and on the
// Intel Xeon guest measured (2026-12-03) weight streams prefetched that way ran
// at about half the rate of the same kernels with ordinary prefetches
// (prefetcht0, which also lets the hardware prefetchers follow the stream). On
// an AMD Zen 5 guest the old kernels had already streamed at plain-read speed.
// A GEMV reads each weight once, but the lines must still survive until the
// loads a few blocks later.
//
// KeepPrefetchedLines (a custom lowering pass) replaces each one-line prefetch
// by a call to tern_prefetch(base, byte_offset), LLVM IR linked into the
// pipeline (add_cache_prefetches): llvm.prefetch with read access and high
// locality, prefetcht0 on x86 and prfm pldl1keep on ARM, inlined.
#pragma once

#include <string>

#include "Halide.h"
#include "llvm_bitcode.h"

namespace tern {

class KeepPrefetchedLines : public Halide::Internal::IRMutator {
    using IRMutator::visit;

    Halide::Expr visit(const Halide::Internal::Call* op) override {
        using namespace Halide;
        using namespace Halide::Internal;
        // prefetch(base, offset, extent, stride): one line at base + offset
        // elements, once Halide has reduced it to one dimension.
        if (!op->is_intrinsic(Call::prefetch) || op->args.size() != 4 ||
            !op->args[0].type().is_handle() || !is_const_one(op->args[2]))
            return IRMutator::visit(op);
        Expr bytes = cast<int32_t>(mutate(op->args[1])) * op->type.bytes();
        return Call::make(Int(32), "tern_prefetch", {op->args[0], simplify(bytes)}, Call::Extern);
    }
};

inline std::string cache_prefetch_ir() {
    return "define weak_odr hidden i32 @tern_prefetch(i8* %base, i32 %offset) #0 {\n"
           "  %o = sext i32 %offset to i64\n"
           "  %p = getelementptr i8, i8* %base, i64 %o\n"
           "  call void @llvm.prefetch.p0i8(i8* %p, i32 0, i32 3, i32 1)\n"
           "  ret i32 0\n"
           "}\n"
           "declare void @llvm.prefetch.p0i8(i8* nocapture readonly, i32 immarg, i32 immarg, "
           "i32)\n"
           "attributes #0 = { alwaysinline nounwind }\n";
}

// Links tern_prefetch into a generator's pipeline and adds the pass that calls
// it. Call from schedule().
inline void add_cache_prefetches(const Halide::Target& target,
                                 Halide::GeneratorContext::ExternsMap& externs,
                                 Halide::Pipeline pipeline) {
    link_llvm_ir(target, externs, "org.tern.prefetch", cache_prefetch_ir());
    pipeline.add_custom_lowering_pass(new KeepPrefetchedLines);
}

}  // namespace tern
