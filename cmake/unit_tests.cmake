# authsvc_unit_tests(TARGET SOURCE... [LABELS SUITE...] [FIXTURES FIXTURE...]
#                    LIBS LIBRARY...) makes
# TARGET, a doctest executable of the SOURCEs with tests/test_main.cc, linked
# with the LIBRARYs and the test support (which needs the core only), and
# registers each TEST_CASE as a CTest test in the token ledger's fixture
# (tests/token_leak_check.py).
#
# The tests of each doctest test suite named in LABELS get that suite's name
# as their CTest label, so that a run can pick tests by what they are:
# "threaded" marks the tests that run threads against each other, which
# scripts/sanitize.sh runs under ThreadSanitizer (ctest -L threaded).
# cmake/doctest_suite_labels.cmake says why not doctest's own ADD_LABELS, and
# fails the build if a suite named here has no test.
#
# FIXTURES: CTest fixtures its tests need as well. `postgres` is the tests'
# PostgreSQL server (tests/CMakeLists.txt), whose info file
# (tests/e2e/postgres.py) they are given as $AUTHSVC_TEST_POSTGRES.
#
# Every unit test executable is listed in the global property
# AUTHSVC_UNIT_TEST_TARGETS, for the leak check to know what a full run is.
# doctest's implementation (tests/test_main.cc), compiled once for every
# test executable: it is the heaviest file of the tests to compile, and the
# builds of CI (plain, two sanitizers) each compiled it once per executable.
add_library(authsvc_test_main OBJECT ${CMAKE_SOURCE_DIR}/tests/test_main.cc)
target_link_libraries(authsvc_test_main PRIVATE authsvc_test_support doctest::doctest)

function(authsvc_unit_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LABELS;LIBS;FIXTURES")
  add_executable(${target} ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${target} PRIVATE ${arg_LIBS} authsvc_test_main authsvc_test_support
                        doctest::doctest)
  doctest_discover_tests(${target}
    PROPERTIES
      ENVIRONMENT AUTHSVC_TEST_ARTIFACTS=${AUTHSVC_TEST_ARTIFACTS}
      FIXTURES_REQUIRED token_ledger)
  set_property(GLOBAL APPEND PROPERTY AUTHSVC_UNIT_TEST_TARGETS ${target})
  if(arg_FIXTURES)
    # Not through doctest_discover_tests' PROPERTIES: doctestAddTests.cmake
    # flattens them into one argument list, so a value that is a list (two
    # variables in ENVIRONMENT, two fixtures) would become stray property
    # names. A file CTest reads after the discovered tests' sets them on
    # the list of those that discovery leaves in ${target}_TESTS: whole, the
    # token ledger's part again, so that the result does not depend on
    # whether CTest adds to a property already set (3.25 does) or replaces it.
    set(environment AUTHSVC_TEST_ARTIFACTS=${AUTHSVC_TEST_ARTIFACTS})
    if("postgres" IN_LIST arg_FIXTURES)
      list(APPEND environment AUTHSVC_TEST_POSTGRES=${AUTHSVC_TEST_POSTGRES_INFO})
    endif()
    set(fixtures token_ledger ${arg_FIXTURES})
    set(include ${CMAKE_CURRENT_BINARY_DIR}/${target}_fixtures_include.cmake)
    file(WRITE ${include}
      "if(DEFINED ${target}_TESTS)\n"
      "  set_tests_properties(\${${target}_TESTS} PROPERTIES\n"
      "    ENVIRONMENT \"${environment}\"\n"
      "    FIXTURES_REQUIRED \"${fixtures}\")\n"
      "endif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include})
  endif()
  if(arg_LABELS)
    # After doctest's discovery, on the tests it added: its include file is
    # registered above, so CTest reads it first.
    set(labels ${CMAKE_CURRENT_BINARY_DIR}/${target}_labels.cmake)
    string(REPLACE ";" "\\;" suites "${arg_LABELS}")
    add_custom_command(TARGET ${target} POST_BUILD
      BYPRODUCTS ${labels}
      COMMAND ${CMAKE_COMMAND} -D TEST_EXECUTABLE=$<TARGET_FILE:${target}> -D SUITES=${suites}
              -D OUTPUT=${labels} -P ${CMAKE_SOURCE_DIR}/cmake/doctest_suite_labels.cmake
      VERBATIM)
    # Until the executable is built, a test that cannot run stands in for
    # each label, so that ctest -L fails rather than selects nothing.
    set(include ${CMAKE_CURRENT_BINARY_DIR}/${target}_labels_include.cmake)
    file(WRITE ${include}
      "if(EXISTS \"${labels}\")\n"
      "  include(\"${labels}\")\n"
      "else()\n"
      "  add_test(${target}_labels_NOT_BUILT ${target}_labels_NOT_BUILT)\n"
      "  set_tests_properties(${target}_labels_NOT_BUILT PROPERTIES LABELS \"${suites}\")\n"
      "endif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include})
  endif()
endfunction()
