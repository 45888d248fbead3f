// Tripling bytes modulo 256 by additions, for base-3 digits on x86.
//
// tmad's base-3 layout reads digit s of a byte v from t_s = 3^s v mod 256
// (tmad_generator.cpp). x86 has no byte multiply: LLVM widens a vector of bytes
// to 16-bit lanes, multiplies there and shuffles the low bytes back (on
// AVX-512 two vpmullw and a vpermt2b per multiple). But each multiple is three
// times the one before, t_(s+1) = t_s + t_s + t_s, two byte additions. Written
// that way in Halide the simplifier (and LLVM after it) folds the chain back
// into 3^s v (a freeze between the steps does not stop LLVM 14), so each step
// goes through tern_triple, an LLVM IR function linked into the pipeline: the
// two additions and an empty inline-asm statement that hands the sum on in a
// register, which no optimiser can see through. On ARM, which multiplies bytes
// in one instruction, the multiples stay products.
#pragma once

#include <string>

#include "Halide.h"
#include "llvm_bitcode.h"

namespace tern {

// Whether triple_bytes() is worth calling on `target` (it needs the linked IR).
inline bool triples_by_additions(const Halide::Target& target) {
    return target.arch == Halide::Target::X86;
}

// 3 t mod 256 for a uint8 Expr t, as tern_triple(t).
inline Halide::Expr triple_bytes(const Halide::Expr& t) {
    return Halide::Internal::Call::make(t.type(), "tern_triple", {t},
                                        Halide::Internal::Call::PureExtern);
}

// tern_triple and its vector versions up to `widest` bytes (Halide calls
// tern_triplexN on vectors of N bytes, split into the widest version defined),
// as LLVM IR text for an x86 target. Versions stop at the kernel's own widest
// vector: the AVX-VNNI bundle compiles Halide's AVX-512 IR again for a CPU
// without zmm registers (cmake/TernRelower.cmake), where a 64-byte register
// operand cannot be compiled even in a function nothing calls.
inline std::string byte_triples_ir(const Halide::Target& target, int widest) {
    auto define = [](int lanes) {
        const std::string v = lanes == 1 ? "i8" : "<" + std::to_string(lanes) + " x i8>";
        const std::string name =
            lanes == 1 ? "tern_triple" : "tern_triplex" + std::to_string(lanes);
        std::string body = "  %a = add " + v + " %t, %t\n  %b = add " + v + " %a, %t\n";
        if (lanes == 1)
            return "define weak_odr hidden i8 @" + name + "(i8 %t) #0 {\n" + body +
                   "  ret i8 %b\n}\n";
        // "v": a vector register of the target (xmm/ymm, or zmm with AVX-512).
        return "define weak_odr hidden " + v + " @" + name + "(" + v + " %t) #0 {\n" + body +
               "  %r = call " + v + " asm \"\", \"=v,0\"(" + v + " %b) #1\n  ret " + v + " %r\n}\n";
    };
    std::string ir = define(1) + define(16);
    if (widest >= 32 && target.has_feature(Halide::Target::AVX2)) ir += define(32);
    if (widest >= 64 && target.has_feature(Halide::Target::AVX512_Skylake)) ir += define(64);
    return ir +
           "attributes #0 = { alwaysinline nounwind readnone }\n"
           "attributes #1 = { nounwind readnone }\n";
}

// Links tern_triple into a generator's pipeline, for vectors of up to `widest`
// bytes. Call from schedule() when generate() used triple_bytes().
inline void add_byte_triples(const Halide::Target& target,
                             Halide::GeneratorContext::ExternsMap& externs, int widest) {
    link_llvm_ir(target, externs, "org.tern.triple", byte_triples_ir(target, widest));
}

}  // namespace tern
