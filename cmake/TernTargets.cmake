# Which targets a build handles and how (see TERN_TARGETS in CMakeLists.txt):
#   linked  - this compiler builds for it: a static bundle library, dispatched at start-up;
#   cross   - arm-64 Linux from an x86-64 Linux host: a cross build (cmake/toolchains/)
#             with its own tests, run under the target's emulator;
#   objects - anything else (Apple M2 from Linux): objects and manifest only.
include(ExternalProject)

# Sets TERN_LINKED_TARGETS, TERN_CROSS_TARGETS, TERN_OBJECT_TARGETS,
# TERN_NATIVE_RUNTIME_TARGET and TERN_SCHEDULES_<target> (the database each
# bundle is built from) in the caller's scope.
function(tern_plan_targets)
    if (CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
        set(arch x86-64)
    elseif (CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
        set(arch arm-64)
    else ()
        message(FATAL_ERROR "tern: no targets for processor ${CMAKE_SYSTEM_PROCESSOR}")
    endif ()
    if (CMAKE_SYSTEM_NAME STREQUAL "Darwin")
        set(os osx)
    else ()
        set(os linux)
    endif ()
    set(native "${arch}-${os}")

    tern_known_targets(known)
    set(targets "")
    foreach (t IN LISTS TERN_TARGETS)
        if (t STREQUAL "host")
            foreach (k IN LISTS known)
                tern_target_property(ht ${k} halide_target)
                if (ht MATCHES "^${native}(-|$)")
                    list(APPEND targets ${k})
                endif ()
            endforeach ()
        else ()
            tern_target_property(ht ${t} halide_target)  # stops on unknown names
            list(APPEND targets ${t})
        endif ()
    endforeach ()
    list(REMOVE_DUPLICATES targets)

    # TERN_SCHEDULES: each database replaces its target's checked-in one.
    foreach (entry IN LISTS TERN_SCHEDULES)
        set(given "")
        set(file "${entry}")
        if (entry MATCHES "^([a-z0-9-]+)=(.+)$")
            set(given "${CMAKE_MATCH_1}")
            set(file "${CMAKE_MATCH_2}")
            tern_target_property(ignored ${given} halide_target)
        endif ()
        get_filename_component(file "${file}" ABSOLUTE BASE_DIR "${CMAKE_SOURCE_DIR}")
        if (NOT EXISTS "${file}")
            message(FATAL_ERROR "TERN_SCHEDULES: ${file} does not exist")
        endif ()
        file(STRINGS "${file}" line REGEX "^target:" LIMIT_COUNT 1)
        if (NOT line MATCHES "^target: *([^ #]+)")
            message(FATAL_ERROR "${file}: missing key 'target' (the targets/<name>.yaml it was tuned for)")
        endif ()
        set(db_target "${CMAKE_MATCH_1}")
        if (given AND NOT given STREQUAL db_target)
            message(FATAL_ERROR "${file}: database is for target '${db_target}', but TERN_SCHEDULES "
                                "gives it for '${given}'")
        endif ()
        if (NOT db_target IN_LIST targets)
            list(JOIN targets ", " built)
            message(FATAL_ERROR "${file}: database is for target '${db_target}', which this build "
                                "does not include (TERN_TARGETS: ${built})")
        endif ()
        if (DEFINED schedules_${db_target})
            message(FATAL_ERROR "TERN_SCHEDULES: two databases for ${db_target}: "
                                "${schedules_${db_target}} and ${file}")
        endif ()
        set(schedules_${db_target} "${file}")
    endforeach ()

    set(linked "")
    set(cross "")
    set(objects "")
    foreach (t IN LISTS targets)
        tern_target_property(ht ${t} halide_target)
        if (ht MATCHES "^${native}(-|$)")
            list(APPEND linked ${t})
        elseif (native STREQUAL "x86-64-linux" AND ht MATCHES "^arm-64-linux")
            find_program(TERN_AARCH64_CXX aarch64-linux-gnu-g++)
            find_program(TERN_QEMU_AARCH64 qemu-aarch64)
            if (TERN_AARCH64_CXX AND TERN_QEMU_AARCH64)
                list(APPEND cross ${t})
            else ()
                message(WARNING "tern: ${t} skipped: aarch64-linux-gnu-g++ or qemu-aarch64 is missing "
                                "(scripts/setup.sh installs them)")
            endif ()
        else ()
            list(APPEND objects ${t})
        endif ()
        set(TERN_SCHEDULES_${t} "${schedules_${t}}" PARENT_SCOPE)
    endforeach ()
    if (NOT linked)
        message(FATAL_ERROR "TERN_TARGETS (${TERN_TARGETS}) has no target this build can link and run "
                            "(this is ${native}); add 'host'")
    endif ()
    set(TERN_LINKED_TARGETS "${linked}" PARENT_SCOPE)
    set(TERN_CROSS_TARGETS "${cross}" PARENT_SCOPE)
    set(TERN_OBJECT_TARGETS "${objects}" PARENT_SCOPE)
    set(TERN_NATIVE_RUNTIME_TARGET "${native}" PARENT_SCOPE)
    message(STATUS "tern: bundles linked: ${linked}; cross-built: ${cross}; objects only: ${objects}")
endfunction()

# A cross build of tern for `target` (runtime, bundle and, with TERN_BUILD_TESTS,
# the kernel tests) with the target's toolchain file, using this build's
# generators. Its test suite runs as one test of this build, under the emulator
# the toolchain file names. `cmake --install` puts its package under
# <prefix>/lib/tern/<target>.
function(tern_add_cross_build TARGET_NAME)
    cmake_parse_arguments(ARG "" "SCHEDULES" "" ${ARGN})
    tern_target_property(toolchain ${TARGET_NAME} toolchain)
    set(bin "${CMAKE_BINARY_DIR}/cross/${TARGET_NAME}")
    set(args -DCMAKE_TOOLCHAIN_FILE=${TERN_SOURCE_DIR}/${toolchain}
             -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
             -DTERN_GENERATOR=$<TARGET_FILE:tern_generators>
             -DTERN_KNOB_TABLE=${CMAKE_BINARY_DIR}/knob_table.cmake
             -DTERN_TARGETS=${TARGET_NAME}
             -DTERN_BUILD_TESTS=${TERN_BUILD_TESTS}
             -DTERN_BUILD_BENCH=OFF)
    if (ARG_SCHEDULES)
        list(APPEND args -DTERN_SCHEDULES=${TARGET_NAME}=${ARG_SCHEDULES})
    endif ()
    ExternalProject_Add(tern_cross_${TARGET_NAME}
                        SOURCE_DIR "${TERN_SOURCE_DIR}"
                        BINARY_DIR "${bin}"
                        CMAKE_ARGS ${args}
                        BUILD_ALWAYS ON
                        INSTALL_COMMAND ""
                        DEPENDS tern_generators)
    if (TERN_BUILD_TESTS)
        add_test(NAME cross_${TARGET_NAME}
                 COMMAND ${CMAKE_CTEST_COMMAND} --test-dir "${bin}" --output-on-failure)
        set_tests_properties(cross_${TARGET_NAME} PROPERTIES TIMEOUT 1800 LABELS cross)
    endif ()
    install(CODE "execute_process(COMMAND \"${CMAKE_COMMAND}\" --install \"${bin}\" --prefix
                  \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/tern/${TARGET_NAME}\"
                  COMMAND_ERROR_IS_FATAL ANY)")
endfunction()
