# AddressSanitizer + UndefinedBehaviorSanitizer for the targets created after
# tern_enable_sanitizers() (see the top-level CMakeLists: not the generators).
# Any undefined behaviour aborts (no recovery), so a test or fuzz run cannot
# pass with a report in its log. With TERN_BUILD_FUZZ, the same code also gets
# libFuzzer's coverage instrumentation (fuzzer-no-link), so the fuzz targets
# are guided by libtern's branches, not only their own.
macro(tern_enable_sanitizers)
    if (NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND TERN_BUILD_FUZZ)
        message(FATAL_ERROR "TERN_BUILD_FUZZ needs clang (configure with CXX=clang++-14 CC=clang-14)")
    endif ()
    set(_tern_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    if (TERN_BUILD_FUZZ)
        list(APPEND _tern_san -fsanitize=fuzzer-no-link)
    endif ()
    add_compile_options(${_tern_san})
    add_link_options(-fsanitize=address,undefined)
endmacro()
