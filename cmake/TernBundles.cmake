# Kernel bundles: the kernels of one target, compiled ahead of time from the
# target's schedule database, with a generated manifest the runtime reads.
#
#   tern_add_bundle(<target> SCHEDULES <db.yaml> [OBJECTS_ONLY])
#
# <target> names targets/<target>.yaml. Every kernel of the database is run
# through tern_generators once (-e object, functions named tern_<target>_<kernel>
# so bundles of several targets link into one binary); generic kernels of the
# target's checked-in defaults are added for anything the database lacks, so
# every shape has a kernel. A bundle the build can link becomes the static
# library tern_bundle_<c_name> (alias tern::bundle_<c_name>) with the header
# <tern/bundles/<c_name>.h>; OBJECTS_ONLY (a target this compiler cannot build
# for, such as Apple M2 from Linux) leaves the objects, the manifest source and
# the Halide runtime object for a build on that platform.
#
# Configure-time checks stop with the file, line and entry at fault: unknown
# targets, a database for another target, unknown generators or knobs.

set(TERN_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/..")
get_filename_component(TERN_SOURCE_DIR "${TERN_SOURCE_DIR}" ABSOLUTE)

# Writes `content` to `path` only when it changes (no needless rebuilds).
function(_tern_write_if_changed PATH CONTENT)
    file(WRITE "${PATH}.tmp" "${CONTENT}")
    configure_file("${PATH}.tmp" "${PATH}" COPYONLY)
    file(REMOVE "${PATH}.tmp")
endfunction()

# Known targets (targets/*.yaml, without the extension).
function(tern_known_targets OUT)
    file(GLOB files RELATIVE "${TERN_SOURCE_DIR}/targets" "${TERN_SOURCE_DIR}/targets/*.yaml")
    string(REPLACE ".yaml" "" names "${files}")
    set(${OUT} "${names}" PARENT_SCOPE)
endfunction()

# Reads `key: value` from targets/<name>.yaml; list values ([a, b]) become CMake lists.
# With OPTIONAL a missing key gives an empty value instead of an error.
function(tern_target_property OUT TARGET_NAME KEY)
    cmake_parse_arguments(ARG "OPTIONAL" "" "" ${ARGN})
    set(file "${TERN_SOURCE_DIR}/targets/${TARGET_NAME}.yaml")
    if (NOT EXISTS "${file}")
        tern_known_targets(known)
        list(JOIN known ", " known)
        message(FATAL_ERROR "unknown tern target '${TARGET_NAME}': there is no targets/${TARGET_NAME}.yaml "
                            "(known targets: ${known})")
    endif ()
    file(STRINGS "${file}" lines REGEX "^${KEY}:")
    if (NOT lines AND ARG_OPTIONAL)
        set(${OUT} "" PARENT_SCOPE)
        return()
    endif ()
    if (NOT lines)
        message(FATAL_ERROR "${file}: missing key '${KEY}'")
    endif ()
    list(GET lines 0 line)
    string(REGEX REPLACE "^${KEY}:[ ]*" "" value "${line}")
    if (value MATCHES "^\\[(.*)\\]$")
        string(REGEX REPLACE ", *" ";" value "${CMAKE_MATCH_1}")
    endif ()
    set(${OUT} "${value}" PARENT_SCOPE)
endfunction()

# The C identifier of a target name: x86-64-avx2 -> x86_64_avx2.
function(tern_target_c_name OUT TARGET_NAME)
    string(MAKE_C_IDENTIFIER "${TARGET_NAME}" c)
    set(${OUT} "${c}" PARENT_SCOPE)
endfunction()

# The kernel families and their knob names, for validating schedule databases:
# from runtime/include/tern/knob_space.h, which cmake/knob_table.cpp prints as
# CMake (compiled and run now; a cross build runs it under its emulator, or is
# handed the host build's table as TERN_KNOB_TABLE), so that the build and the
# code cannot disagree.
function(_tern_scan_generators)
    get_property(done GLOBAL PROPERTY TERN_GENERATOR_FAMILIES SET)
    if (done)
        return()
    endif ()
    set(table "${TERN_KNOB_TABLE}")
    if (NOT table)
        set(table "${CMAKE_BINARY_DIR}/knob_table.cmake")
        try_run(run_result compile_result "${CMAKE_BINARY_DIR}/knob_table"
                "${TERN_SOURCE_DIR}/cmake/knob_table.cpp"
                CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${TERN_SOURCE_DIR}/runtime/include"
                CXX_STANDARD 17
                COMPILE_OUTPUT_VARIABLE compile_output
                RUN_OUTPUT_VARIABLE knobs)
        if (NOT compile_result OR NOT run_result EQUAL 0)
            message(FATAL_ERROR "cmake/knob_table.cpp did not build and run: ${compile_output}")
        endif ()
        file(WRITE "${table}" "${knobs}")
    endif ()
    include("${table}")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
                 "${TERN_SOURCE_DIR}/runtime/include/tern/knob_space.h")
    foreach (family IN LISTS TERN_GENERATOR_FAMILIES)
        set_property(GLOBAL PROPERTY TERN_KNOBS_${family} "${TERN_KNOBS_${family}}")
    endforeach ()
    set_property(GLOBAL PROPERTY TERN_GENERATOR_FAMILIES "${TERN_GENERATOR_FAMILIES}")
endfunction()

# tern_read_schedule(<db.yaml> <prefix>): reads a schedule database, one kernel
# per line in flow style:
#   - {name: <kernel>, family: <generator>, knobs: {<knob>: <int>, ...}[, op: gemv, k: K,
#      n: N, m: M, threads: T, ...]}
# Sets <prefix>_TARGET, <prefix>_NAMES and per name <prefix>_<name>_FAMILY,
# _PARAMS (knob=value list) and _SHAPE (op;k;n;m;threads, or "-;0;0;0;0" for a
# generic kernel) in the caller's scope.
function(tern_read_schedule FILE PREFIX)
    if (NOT EXISTS "${FILE}")
        message(FATAL_ERROR "schedule database ${FILE} does not exist")
    endif ()
    _tern_scan_generators()
    get_property(families GLOBAL PROPERTY TERN_GENERATOR_FAMILIES)
    list(JOIN families ", " families_text)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${FILE}")
    file(STRINGS "${FILE}" lines)
    set(lineno 0)
    set(in_kernels OFF)
    set(names "")
    set(target "")
    foreach (line IN LISTS lines)
        math(EXPR lineno "${lineno} + 1")
        if (line MATCHES "^target: *([^ #]+)")
            set(target "${CMAKE_MATCH_1}")
            continue()
        endif ()
        if (line MATCHES "^kernels:")
            set(in_kernels ON)
            continue()
        endif ()
        if (NOT in_kernels OR line MATCHES "^[ ]*(#|$)")
            continue()
        endif ()
        if (NOT line MATCHES "^  - {name: ([a-z0-9_]+), family: ([a-z0-9_]+), knobs: {([^}]*)}(.*)$")
            message(FATAL_ERROR "${FILE}:${lineno}: expected '- {name: <kernel>, family: <family>, "
                                "knobs: {<knob>: <value>, ...}}', got: ${line}")
        endif ()
        set(name "${CMAKE_MATCH_1}")
        set(family "${CMAKE_MATCH_2}")
        set(knob_text "${CMAKE_MATCH_3}")
        set(rest "${CMAKE_MATCH_4}")
        if (NOT family IN_LIST families)
            message(FATAL_ERROR "${FILE}:${lineno}: kernel '${name}': '${family}' is not a tern "
                                "generator (generators: ${families_text})")
        endif ()
        if (name IN_LIST names)
            message(FATAL_ERROR "${FILE}:${lineno}: kernel '${name}' is listed twice")
        endif ()
        get_property(known_knobs GLOBAL PROPERTY TERN_KNOBS_${family})
        string(REGEX REPLACE ": *" "=" params "${knob_text}")
        string(REGEX REPLACE ", *" ";" params "${params}")
        foreach (p IN LISTS params)
            if (NOT p MATCHES "^([a-z0-9_]+)=-?[0-9]+$")
                message(FATAL_ERROR "${FILE}:${lineno}: kernel '${name}': knob '${p}' is not <name>: <integer>")
            endif ()
            if (NOT CMAKE_MATCH_1 IN_LIST known_knobs)
                list(JOIN known_knobs ", " known_text)
                message(FATAL_ERROR "${FILE}:${lineno}: kernel '${name}': generator ${family} has no knob "
                                    "'${CMAKE_MATCH_1}' (its knobs: ${known_text})")
            endif ()
        endforeach ()
        set(shape "")
        foreach (key op k n m threads)
            if (rest MATCHES "[{ ,]${key}: *([a-z0-9]+)")
                list(APPEND shape "${CMAKE_MATCH_1}")
            elseif (key STREQUAL "op")
                list(APPEND shape "-")
            else ()
                list(APPEND shape 0)
            endif ()
        endforeach ()
        list(APPEND names ${name})
        set(${PREFIX}_${name}_FAMILY "${family}" PARENT_SCOPE)
        set(${PREFIX}_${name}_PARAMS "${params}" PARENT_SCOPE)
        set(${PREFIX}_${name}_SHAPE "${shape}" PARENT_SCOPE)
    endforeach ()
    if (NOT target)
        message(FATAL_ERROR "${FILE}: missing key 'target' (the targets/<name>.yaml it was tuned for)")
    endif ()
    if (NOT names)
        message(FATAL_ERROR "${FILE}: no kernels listed under 'kernels:'")
    endif ()
    set(${PREFIX}_TARGET "${target}" PARENT_SCOPE)
    set(${PREFIX}_NAMES "${names}" PARENT_SCOPE)
endfunction()

# The Halide runtime for one architecture and OS, shared by every bundle of a
# build: an object emitted by the generator (target like x86-64-linux).
function(_tern_halide_runtime_object OUT RUNTIME_TARGET)
    string(MAKE_C_IDENTIFIER "${RUNTIME_TARGET}" c)
    set(dir "${CMAKE_BINARY_DIR}/bundles/halide_runtime")
    set(obj "${dir}/tern_halide_runtime_${c}.o")
    get_property(done GLOBAL PROPERTY TERN_RUNTIME_${c})
    if (NOT done)
        add_custom_command(OUTPUT "${obj}"
                           COMMAND ${CMAKE_COMMAND} -E make_directory "${dir}"
                           COMMAND tern_generators -r tern_halide_runtime_${c} -e object -o "${dir}"
                                   "target=${RUNTIME_TARGET}"
                           DEPENDS tern_generators VERBATIM)
        set_property(GLOBAL PROPERTY TERN_RUNTIME_${c} ON)
    endif ()
    set(${OUT} "${obj}" PARENT_SCOPE)
endfunction()

# The library every linked bundle needs: the Halide runtime of the build's own
# architecture (thread pool, allocation).
function(tern_add_halide_runtime RUNTIME_TARGET)
    _tern_halide_runtime_object(obj ${RUNTIME_TARGET})
    add_library(tern_halide_runtime STATIC "${obj}")
    set_target_properties(tern_halide_runtime PROPERTIES LINKER_LANGUAGE CXX)
    target_link_libraries(tern_halide_runtime INTERFACE Threads::Threads ${CMAKE_DL_LIBS})
endfunction()

function(tern_add_bundle TARGET_NAME)
    cmake_parse_arguments(ARG "OBJECTS_ONLY" "SCHEDULES" "" ${ARGN})
    tern_target_property(halide_target ${TARGET_NAME} halide_target)
    tern_target_property(features ${TARGET_NAME} cpu_features)
    tern_target_property(llvm_cpu ${TARGET_NAME} llvm_cpu OPTIONAL)
    if (llvm_cpu)
        find_program(TERN_LLC NAMES llc-14 llc PATHS /usr/lib/llvm-14/bin)
        if (NOT TERN_LLC)
            message(FATAL_ERROR "the ${TARGET_NAME} bundle is compiled by LLVM's llc for the CPU "
                                "'${llvm_cpu}' (targets/${TARGET_NAME}.yaml), and no llc-14 was found "
                                "(Debian package llvm-14; scripts/setup.sh installs it)")
        endif ()
    endif ()
    tern_target_c_name(c ${TARGET_NAME})
    set(defaults "${TERN_SOURCE_DIR}/schedules/${TARGET_NAME}.yaml")
    if (NOT ARG_SCHEDULES)
        set(ARG_SCHEDULES "${defaults}")
    endif ()
    tern_read_schedule("${ARG_SCHEDULES}" db)
    if (NOT db_TARGET STREQUAL TARGET_NAME)
        message(FATAL_ERROR "${ARG_SCHEDULES}: database is for target '${db_TARGET}', but it was given "
                            "for the ${TARGET_NAME} bundle")
    endif ()
    # Generic fallbacks from the target's defaults for what the database lacks.
    if (NOT ARG_SCHEDULES STREQUAL defaults)
        tern_read_schedule("${defaults}" base)
        foreach (name IN LISTS base_NAMES)
            if (NOT name IN_LIST db_NAMES AND base_${name}_SHAPE MATCHES "^-;")
                list(APPEND db_NAMES ${name})
                foreach (field FAMILY PARAMS SHAPE)
                    set(db_${name}_${field} "${base_${name}_${field}}")
                endforeach ()
            endif ()
        endforeach ()
    endif ()

    set(dir "${CMAKE_BINARY_DIR}/bundles/${TARGET_NAME}")
    file(MAKE_DIRECTORY "${dir}/include/tern/bundles")
    set(objects "")
    set(decls "")
    set(tables "")
    set(rows "")
    foreach (name IN LISTS db_NAMES)
        set(fn "tern_${c}_${name}")
        # Objects straight from Halide, or its LLVM IR compiled again for llvm_cpu
        # (see cmake/TernRelower.cmake).
        set(emit object)
        set(relower "")
        set(relower_script "")
        set(note "")
        if (llvm_cpu)
            set(emit llvm_assembly)
            set(relower COMMAND ${CMAKE_COMMAND} -DIR=${dir}/${fn}.ll -DOBJECT=${dir}/${fn}.o
                        -DCPU=${llvm_cpu} -DLLC=${TERN_LLC} -P "${TERN_SOURCE_DIR}/cmake/TernRelower.cmake")
            set(relower_script "${TERN_SOURCE_DIR}/cmake/TernRelower.cmake")
            set(note " (LLVM CPU ${llvm_cpu})")
        endif ()
        add_custom_command(OUTPUT "${dir}/${fn}.o"
                           COMMAND tern_generators -g ${db_${name}_FAMILY} -f ${fn} -n ${fn} -e ${emit}
                                   -o "${dir}" "target=${halide_target}-no_runtime" ${db_${name}_PARAMS}
                           ${relower}
                           DEPENDS tern_generators "${ARG_SCHEDULES}" ${relower_script}
                           COMMENT "Generating ${TARGET_NAME} kernel ${name}${note}"
                           VERBATIM)
        list(APPEND objects "${dir}/${fn}.o")
        string(APPEND decls "int ${fn}_argv(void** args);\n")
        set(knobs "")
        foreach (p IN LISTS db_${name}_PARAMS)
            string(REPLACE "=" "\", " kv "${p}")
            string(APPEND knobs "{\"${kv}}, ")
        endforeach ()
        list(LENGTH db_${name}_PARAMS num_knobs)
        if (num_knobs GREATER 0)
            string(APPEND tables "const BundleKnob knobs_${name}[] = {${knobs}};\n")
            set(knob_table "knobs_${name}")
        else ()
            set(knob_table "nullptr")
        endif ()
        list(GET db_${name}_SHAPE 0 op)
        if (op STREQUAL "-")
            set(op "")
        endif ()
        list(SUBLIST db_${name}_SHAPE 1 4 dims)
        list(JOIN dims ", " dims)
        string(APPEND rows "    {\"${name}\", \"${db_${name}_FAMILY}\", \"${op}\", ${dims}, ${knob_table}, "
                           "${num_knobs}, &${fn}_argv, \"${fn}\"},\n")
    endforeach ()
    set(feature_list "")
    foreach (f IN LISTS features)
        string(APPEND feature_list "\"${f}\", ")
    endforeach ()
    list(LENGTH features num_features)
    list(LENGTH db_NAMES num_kernels)

    # The Halide target, and the LLVM CPU where llc compiled its IR again.
    set(shown_target "${halide_target}")
    if (llvm_cpu)
        string(APPEND shown_target " (LLVM CPU ${llvm_cpu})")
    endif ()
    set(header "${dir}/include/tern/bundles/${c}.h")
    string(CONCAT text
        "// Generated by cmake/TernBundles.cmake: the ${TARGET_NAME} kernel bundle.\n"
        "#pragma once\n\n#include \"tern/bundle.h\"\n\n"
        "namespace tern::manifests {\n"
        "// The manifest of the ${TARGET_NAME} bundle (${halide_target}), built from\n"
        "// ${ARG_SCHEDULES}.\nconst BundleManifest& ${c}();\n}  // namespace tern::manifests\n")
    _tern_write_if_changed("${header}" "${text}")
    set(manifest "${dir}/manifest.cpp")
    string(CONCAT text
        "// Generated by cmake/TernBundles.cmake from ${ARG_SCHEDULES}: do not edit.\n"
        "#include \"tern/bundles/${c}.h\"\n\n"
        "extern \"C\" {\n${decls}}\n\n"
        "namespace tern::manifests {\nnamespace {\n${tables}\n"
        "const BundleKernel kKernels[] = {\n${rows}};\n"
        "const char* const kFeatures[] = {${feature_list}};\n}  // namespace\n\n"
        "const BundleManifest& ${c}() {\n"
        "    static const BundleManifest manifest{\"${TARGET_NAME}\", \"${shown_target}\", kFeatures, "
        "${num_features},\n        \"${ARG_SCHEDULES}\", kKernels, ${num_kernels}};\n"
        "    return manifest;\n}\n}  // namespace tern::manifests\n")
    _tern_write_if_changed("${manifest}" "${text}")

    if (ARG_OBJECTS_ONLY)
        string(REGEX MATCH "^[a-z0-9]+-[0-9]+-[a-z]+" runtime_target "${halide_target}")
        _tern_halide_runtime_object(runtime_obj ${runtime_target})
        add_custom_target(tern_bundle_${c} ALL DEPENDS ${objects} "${runtime_obj}")
        install(FILES ${objects} "${runtime_obj}" "${manifest}" "${header}"
                "${TERN_SOURCE_DIR}/runtime/include/tern/bundle.h"
                DESTINATION "${CMAKE_INSTALL_DATADIR}/tern/bundles/${TARGET_NAME}")
    else ()
        add_library(tern_bundle_${c} STATIC "${manifest}" ${objects})
        add_library(tern::bundle_${c} ALIAS tern_bundle_${c})
        set_target_properties(tern_bundle_${c} PROPERTIES EXPORT_NAME bundle_${c})
        target_include_directories(tern_bundle_${c} PUBLIC
            $<BUILD_INTERFACE:${dir}/include>
            $<BUILD_INTERFACE:${TERN_SOURCE_DIR}/runtime/include>
            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
        target_link_libraries(tern_bundle_${c} PUBLIC tern_halide_runtime)
        install(FILES "${header}" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/tern/bundles")
        set_property(GLOBAL APPEND PROPERTY TERN_LINKED_BUNDLES ${c})
    endif ()
    set_property(GLOBAL APPEND PROPERTY TERN_BUNDLE_KERNELS_${c} ${db_NAMES})
    message(STATUS "tern: ${TARGET_NAME} bundle, ${num_kernels} kernels from ${ARG_SCHEDULES}")
endfunction()

# Writes <dir>/linked_bundles.inc for the runtime: the manifests of every bundle
# added with tern_add_bundle that this build links.
function(tern_write_linked_bundles DIR)
    get_property(linked GLOBAL PROPERTY TERN_LINKED_BUNDLES)
    set(includes "")
    set(items "")
    foreach (c IN LISTS linked)
        string(APPEND includes "#include \"tern/bundles/${c}.h\"\n")
        string(APPEND items "&manifests::${c}(), ")
    endforeach ()
    string(CONCAT text
        "// Generated by cmake/TernBundles.cmake: the bundles linked into this build.\n"
        "#pragma once\n#include <vector>\n\n${includes}\n"
        "namespace tern::detail {\ninline std::vector<const BundleManifest*> linked_bundles() {\n"
        "    return {${items}};\n}\n}  // namespace tern::detail\n")
    _tern_write_if_changed("${DIR}/linked_bundles.inc" "${text}")
endfunction()

# tern_emit_assembly(<out-var> GENERATOR <gen> TARGET <halide target> NAME <name>
#                    [PARAMS ...]): assembly of one instance for any target, for
# tests that check instruction selection without running the code.
function(tern_emit_assembly OUT)
    cmake_parse_arguments(ARG "" "GENERATOR;TARGET;NAME" "PARAMS" ${ARGN})
    set(dir "${CMAKE_CURRENT_BINARY_DIR}/asm")
    set(file "${dir}/${ARG_NAME}.s")
    add_custom_command(OUTPUT "${file}"
                       COMMAND ${CMAKE_COMMAND} -E make_directory "${dir}"
                       COMMAND tern_generators -g ${ARG_GENERATOR} -f ${ARG_NAME} -n ${ARG_NAME}
                               -e assembly -o "${dir}" "target=${ARG_TARGET}-no_runtime"
                               ${ARG_PARAMS}
                       DEPENDS tern_generators
                       VERBATIM)
    set(${OUT} "${file}" PARENT_SCOPE)
endfunction()
