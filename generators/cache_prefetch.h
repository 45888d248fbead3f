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
//
// With l2_bytes > 0 (the prefetch_l2 knob) the same call also prefetches the
// line l2_bytes further on into L2 (prefetcht1, prfm pldl2keep): two distances
// kept the hardware's queue fuller than one. On the Intel Xeon guest
// (2026-12-04) a plain read of 657 MB went from 17.2 GB/s (1 KiB ahead) to
// 18.8 (1 KiB into L1 and 4 KiB into L2), and the AVX2 bundle's 2B4T
// generation from 16.6-17.2 to 17.9-18.7 tokens/s at one thread.
#pragma once

#include <string>

#include "Halide.h"
#include "llvm_bitcode.h"

namespace tern {

class KeepPrefetchedLines : public Halide::Internal::IRMutator {
public:
    explicit KeepPrefetchedLines(std::string function) : function_(std::move(function)) {}

private:
    using IRMutator::visit;
    std::string function_;

    Halide::Expr visit(const Halide::Internal::Call* op) override {
        using namespace Halide;
        using namespace Halide::Internal;
        // prefetch(base, offset, extent, stride): one line at base + offset
        // elements, once Halide has reduced it to one dimension.
        if (!op->is_intrinsic(Call::prefetch) || op->args.size() != 4 ||
            !op->args[0].type().is_handle() || !is_const_one(op->args[2]))
            return IRMutator::visit(op);
        Expr bytes = cast<int32_t>(mutate(op->args[1])) * op->type.bytes();
        return Call::make(Int(32), function_, {op->args[0], simplify(bytes)}, Call::Extern);
    }
};

// The prefetch function's name: one per L2 distance, since every kernel of a
// bundle links its own copy.
inline std::string cache_prefetch_function(int l2_bytes) {
    return l2_bytes > 0 ? "tern_prefetch_l2_" + std::to_string(l2_bytes) : "tern_prefetch";
}

inline std::string cache_prefetch_ir(int l2_bytes) {
    const std::string l2 =
        l2_bytes > 0 ? "  %q = getelementptr i8, i8* %p, i64 " + std::to_string(l2_bytes) +
                           "\n"
                           "  call void @llvm.prefetch.p0i8(i8* %q, i32 0, i32 2, i32 1)\n"
                     : "";
    return "define weak_odr hidden i32 @" + cache_prefetch_function(l2_bytes) +
           "(i8* %base, i32 %offset) #0 {\n"
           "  %o = sext i32 %offset to i64\n"
           "  %p = getelementptr i8, i8* %base, i64 %o\n"
           "  call void @llvm.prefetch.p0i8(i8* %p, i32 0, i32 3, i32 1)\n" +
           l2 +
           "  ret i32 0\n"
           "}\n"
           "declare void @llvm.prefetch.p0i8(i8* nocapture readonly, i32 immarg, i32 immarg, "
           "i32)\n"
           "attributes #0 = { alwaysinline nounwind }\n";
}

// Links the prefetch function into a generator's pipeline and adds the pass
// that calls it. Call from schedule().
inline void add_cache_prefetches(const Halide::Target& target,
                                 Halide::GeneratorContext::ExternsMap& externs,
                                 Halide::Pipeline pipeline, int l2_bytes = 0) {
    const std::string function = cache_prefetch_function(l2_bytes);
    link_llvm_ir(target, externs, "org.tern." + function, cache_prefetch_ir(l2_bytes));
    pipeline.add_custom_lowering_pass(new KeepPrefetchedLines(function));
}

}  // namespace tern
