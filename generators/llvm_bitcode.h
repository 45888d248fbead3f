// Small LLVM IR helpers linked into generated pipelines as bitcode (Halide's
// ExternalCode), for instructions Halide 14 does not emit itself: table lookups
// (table_lookup.h) and prefetches that keep their lines (cache_prefetch.h).
#pragma once

#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>

#include <string>
#include <vector>

#include "Halide.h"

namespace tern {

// Bitcode of the LLVM IR text `ir` for `target`, made with LLVM's C API (the
// LLVM Halide itself links). `what` names the IR in errors.
inline std::vector<uint8_t> llvm_bitcode(const Halide::Target& target, const std::string& ir,
                                         const std::string& what) {
    LLVMContextRef context = LLVMContextCreate();
    LLVMMemoryBufferRef text =
        LLVMCreateMemoryBufferWithMemoryRangeCopy(ir.data(), ir.size(), what.c_str());
    LLVMModuleRef module = nullptr;
    char* message = nullptr;
    if (LLVMParseIRInContext(context, text, &module, &message)) {  // takes the buffer
        const std::string why = message ? message : "unknown error";
        LLVMDisposeMessage(message);
        LLVMContextDispose(context);
        throw Halide::CompileError(what + ": cannot parse its LLVM IR: " + why);
    }
    // The data layout of Halide's modules for the targets tern builds (LLVM
    // warns when it links modules whose layouts differ).
    if (target.arch == Halide::Target::X86 && target.bits == 64)
        LLVMSetDataLayout(module,
                          "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128");
    else if (target.arch == Halide::Target::ARM && target.os == Halide::Target::OSX)
        LLVMSetDataLayout(module, "e-m:o-i64:64-i128:128-n32:64-S128");
    else if (target.arch == Halide::Target::ARM)
        LLVMSetDataLayout(module, "e-m:e-i8:8:32-i16:16:32-i64:64-i128:128-n32:64-S128");
    LLVMMemoryBufferRef bitcode = LLVMWriteBitcodeToMemoryBuffer(module);
    const auto* start = reinterpret_cast<const uint8_t*>(LLVMGetBufferStart(bitcode));
    std::vector<uint8_t> out(start, start + LLVMGetBufferSize(bitcode));
    LLVMDisposeMemoryBuffer(bitcode);
    LLVMDisposeModule(module);
    LLVMContextDispose(context);
    return out;
}

// Links `ir` into a generator's pipeline through its externs map, under `key`.
inline void link_llvm_ir(const Halide::Target& target,
                         Halide::GeneratorContext::ExternsMap& externs, const std::string& key,
                         const std::string& ir) {
    externs.insert_or_assign(
        key, Halide::ExternalCode::bitcode_wrapper(target, llvm_bitcode(target, ir, key), key));
}

}  // namespace tern
