# authsvc_unit_tests(TARGET SOURCE... LIBS LIBRARY...) makes TARGET, a doctest
# executable of the SOURCEs with tests/test_main.cc, linked with the
# LIBRARYs and the test support (which needs the core only), and registers
# each TEST_CASE as a CTest test in the token ledger's fixture
# (tests/token_leak_check.py). Test suites become CTest labels, so that a
# run can pick tests by what they are (scripts/sanitize.sh). Every unit test
# executable is listed in the global property AUTHSVC_UNIT_TEST_TARGETS,
# for the leak check to know what a full run is.
function(authsvc_unit_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LIBS")
  add_executable(${target} ${CMAKE_SOURCE_DIR}/tests/test_main.cc ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${target} PRIVATE ${arg_LIBS} authsvc_test_support doctest::doctest)
  doctest_discover_tests(${target}
    ADD_LABELS 1
    PROPERTIES
      ENVIRONMENT AUTHSVC_TEST_ARTIFACTS=${AUTHSVC_TEST_ARTIFACTS}
      FIXTURES_REQUIRED token_ledger)
  set_property(GLOBAL APPEND PROPERTY AUTHSVC_UNIT_TEST_TARGETS ${target})
endfunction()
