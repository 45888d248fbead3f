# Sets halide_target, the db_* lists of the target's schedule database
# (tern_read_schedule) and dir, a build directory for the target, in the caller.
macro(_tern_load_target TARGET_NAME)
    tern_target_property(halide_target ${TARGET_NAME} halide_target)
    tern_read_schedule("${PROJECT_SOURCE_DIR}/schedules/${TARGET_NAME}.yaml" db)
    set(dir "${CMAKE_CURRENT_BINARY_DIR}/${TARGET_NAME}")
    file(MAKE_DIRECTORY "${dir}")
endmacro()

# tern_add_cross_kernel_test(<target name> COMPILER <cross g++> EMULATOR <cmd;args>)
#
# Builds the kernels of schedules/<target>.yaml for a foreign target with the
# host's generator, cross-compiles the runtime and tests/cross_kernels_main.cpp
# against them, and registers a CTest test that runs the result under the
# emulator: the exactness checks of the host, on the target's own code.
function(tern_add_cross_kernel_test TARGET_NAME)
    cmake_parse_arguments(ARG "" "COMPILER" "EMULATOR" ${ARGN})
    _tern_load_target(${TARGET_NAME})
    set(libs "")
    set(entries "")
    set(features "")  # the first kernel carries the Halide runtime, the others share it
    foreach (name IN LISTS db_NAMES)
        add_custom_command(OUTPUT "${dir}/${name}.a" "${dir}/${name}.h"
                           COMMAND tern_generators -g ${db_${name}_FAMILY} -f ${name} -n ${name}
                                   -e static_library,c_header -o "${dir}"
                                   "target=${halide_target}${features}" ${db_${name}_PARAMS}
                           DEPENDS tern_generators VERBATIM)
        list(APPEND libs "${dir}/${name}.a")
        list(JOIN db_${name}_PARAMS "," params)
        list(APPEND entries "${name}|${db_${name}_FAMILY}|${params}")
        set(features "-no_runtime")
    endforeach ()
    tern_write_kernel_table("${dir}" ENTRIES ${entries})

    set(sources
        "${PROJECT_SOURCE_DIR}/runtime/packing.cpp"
        "${PROJECT_SOURCE_DIR}/runtime/reference.cpp"
        "${PROJECT_SOURCE_DIR}/runtime/kernels.cpp"
        "${PROJECT_SOURCE_DIR}/tests/cross_kernels_main.cpp")
    set(binary "${dir}/cross_kernels_test")
    get_target_property(halide_include Halide::Halide INTERFACE_INCLUDE_DIRECTORIES)  # HalideRuntime.h
    add_custom_command(OUTPUT "${binary}"
                       COMMAND ${ARG_COMPILER} -std=c++17 -O2 -static
                               -I "${dir}" -I "${PROJECT_SOURCE_DIR}/runtime"
                               -I "${PROJECT_SOURCE_DIR}/runtime/include"
                               -I "${PROJECT_SOURCE_DIR}/generators" -I "${halide_include}"
                               ${sources} ${libs} -lpthread -ldl -o "${binary}"
                       DEPENDS ${sources} ${libs} "${dir}/kernel_table.inc"
                       VERBATIM)
    add_custom_target(cross_kernels_${TARGET_NAME} ALL DEPENDS "${binary}")
    add_test(NAME cross_kernels_${TARGET_NAME} COMMAND ${ARG_EMULATOR} "${binary}")
    set_tests_properties(cross_kernels_${TARGET_NAME} PROPERTIES TIMEOUT 900
                         PASS_REGULAR_EXPRESSION "[1-9][0-9]* passed, 0 failed")
endfunction()

# tern_add_object_check(<target name> OBJDUMP <llvm-objdump> NM <llvm-nm>)
#
# For a target that cannot run here (Apple M2): emits its kernels as objects and
# registers tests/macho_objects_test.sh on them.
function(tern_add_object_check TARGET_NAME)
    cmake_parse_arguments(ARG "" "OBJDUMP;NM" "" ${ARGN})
    _tern_load_target(${TARGET_NAME})
    set(objects "")
    foreach (name IN LISTS db_NAMES)
        add_custom_command(OUTPUT "${dir}/${name}.o"
                           COMMAND tern_generators -g ${db_${name}_FAMILY} -f ${name} -n ${name}
                                   -e object -o "${dir}" "target=${halide_target}-no_runtime"
                                   ${db_${name}_PARAMS}
                           DEPENDS tern_generators VERBATIM)
        list(APPEND objects "${dir}/${name}.o")
    endforeach ()
    add_custom_target(objects_${TARGET_NAME} ALL DEPENDS ${objects})
    add_test(NAME objects_${TARGET_NAME}
             COMMAND "${PROJECT_SOURCE_DIR}/tests/macho_objects_test.sh" ${ARG_OBJDUMP} ${ARG_NM} "${dir}"
                     ${db_NAMES})
endfunction()
