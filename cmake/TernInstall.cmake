# cmake --install: libtern, the linked bundles, the Halide runtime and the public
# headers, with an exported CMake package:
#   find_package(tern REQUIRED)
#   target_link_libraries(app PRIVATE tern::tern)   # or one tern::bundle_<target>
include(CMakePackageConfigHelpers)

get_property(_bundles GLOBAL PROPERTY TERN_LINKED_BUNDLES)
list(TRANSFORM _bundles PREPEND tern_bundle_)
install(TARGETS tern tern_halide_runtime ${_bundles}
        EXPORT ternTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/tern DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/tern)
install(EXPORT ternTargets NAMESPACE tern:: DESTINATION ${_cmake_dir})
file(WRITE ${CMAKE_BINARY_DIR}/ternConfig.cmake.in [=[
@PACKAGE_INIT@
# tern: the kernel runtime and the kernel bundles of one build.
#   tern::tern            runtime (dispatches between the bundles at start-up)
#   tern::bundle_<target> one bundle, e.g. tern::bundle_x86_64_avx2
include(CMakeFindDependencyMacro)
find_dependency(Threads)
include("${CMAKE_CURRENT_LIST_DIR}/ternTargets.cmake")
set(tern_BUNDLES "@TERN_LINKED_TARGETS@")
]=])
configure_package_config_file(${CMAKE_BINARY_DIR}/ternConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/ternConfig.cmake
                              INSTALL_DESTINATION ${_cmake_dir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ternConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ternConfig.cmake ${CMAKE_BINARY_DIR}/ternConfigVersion.cmake
        DESTINATION ${_cmake_dir})
