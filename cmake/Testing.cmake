# doctest and the helper that registers a doctest binary with CTest, available to every layer's
# CMakeLists (some layers define their test targets beside their sources).
find_package(doctest REQUIRED)
include(doctest)  # doctest_discover_tests

# Registers every TEST_CASE of a doctest binary as its own CTest test (so ctest -j runs them in
# parallel and -R selects them by name). Test names must not contain ';'.
function(opsrl_add_doctest target)
  doctest_discover_tests(${target}
    PROPERTIES ENVIRONMENT "OPSRL_SOURCE_DIR=${PROJECT_SOURCE_DIR};OPSRL_SHARED_DATA=${PROJECT_SOURCE_DIR}/../shared/data")
endfunction()
