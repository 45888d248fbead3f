# Compiles a kernel's LLVM IR, as Halide emitted it, into an object for another
# LLVM CPU than the Halide target implies (targets/<name>.yaml's llvm_cpu):
#   cmake -DIR=<kernel.ll> -DOBJECT=<kernel.o> -DCPU=<llvm cpu> -DLLC=<llc> -P TernRelower.cmake
# Halide writes the CPU and its features into every function's attributes, and
# those win over llc's command line; so they are rewritten to name CPU alone.
# The IR is already optimised by Halide (its alwaysinline wrappers inlined); llc
# only selects instructions, for the CPU's features. An instruction the CPU lacks
# (an AVX-512 one in an AVX-VNNI bundle, say) stops the build here.
foreach (var IR OBJECT CPU LLC)
    if (NOT DEFINED ${var})
        message(FATAL_ERROR "TernRelower.cmake: -D${var}=... is required")
    endif ()
endforeach ()
file(READ "${IR}" text)
string(REGEX REPLACE "\"target-cpu\"=\"[^\"]*\"" "\"target-cpu\"=\"${CPU}\"" text "${text}")
string(REGEX REPLACE "\"target-features\"=\"[^\"]*\"" "\"target-features\"=\"\"" text "${text}")
string(REGEX REPLACE "\"tune-cpu\"=\"[^\"]*\"" "\"tune-cpu\"=\"${CPU}\"" text "${text}")
set(relowered "${IR}.${CPU}.ll")
file(WRITE "${relowered}" "${text}")
execute_process(COMMAND "${LLC}" -O3 -mcpu=${CPU} -relocation-model=pic -filetype=obj
                        "${relowered}" -o "${OBJECT}.tmp"
                RESULT_VARIABLE status ERROR_VARIABLE errors)
if (NOT status EQUAL 0)
    file(REMOVE "${OBJECT}.tmp")
    message(FATAL_ERROR "${IR}: llc cannot compile this kernel for the LLVM CPU '${CPU}' (llvm_cpu of "
                        "its target): ${errors}")
endif ()
file(RENAME "${OBJECT}.tmp" "${OBJECT}")
