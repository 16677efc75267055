# Gives the tests of each doctest test suite in SUITES, as
# doctest_discover_tests added them to CTest, that suite's name as their
# CTest label (ctest -L SUITE). Run as a POST_BUILD step of the test binary
# (tests/CMakeLists.txt), after doctest's discovery; writes OUTPUT, a CTest
# file of set_tests_properties calls.
#
#   cmake -D TEST_EXECUTABLE=... -D SUITES=a;b -D OUTPUT=... -P doctest_suite_labels.cmake
#
# Not doctest_discover_tests(... ADD_LABELS 1): doctest 2.4.9's
# doctestAddTests.cmake asks the binary for each test's suite with
# --test-case=NAME, its commas unescaped, and doctest reads a comma in a
# filter as "or": a test whose name has one (most of ours) selects nothing,
# and gets no label. Here the binary lists each suite's tests instead, in
# one run per suite.
if(NOT TEST_EXECUTABLE OR NOT SUITES OR NOT OUTPUT)
  message(FATAL_ERROR "doctest_suite_labels: TEST_EXECUTABLE, SUITES and OUTPUT are required")
endif()
set(script "")
foreach(suite IN LISTS SUITES)
  execute_process(
    COMMAND "${TEST_EXECUTABLE}" "--test-suite=${suite}" --list-test-cases
    OUTPUT_VARIABLE output
    RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "doctest_suite_labels: ${TEST_EXECUTABLE} --list-test-cases: ${result}\n${output}")
  endif()
  string(REPLACE "\n" ";" lines "${output}")
  set(count 0)
  foreach(line IN LISTS lines)
    if(line STREQUAL "" OR line MATCHES "^===+$" OR line MATCHES "^\\[doctest\\] ")
      continue()
    endif()
    string(APPEND script "set_tests_properties([==[${line}]==] PROPERTIES LABELS ${suite})\n")
    math(EXPR count "${count} + 1")
  endforeach()
  # A suite that selects nothing is a mistake (a renamed suite, a lost
  # decorator), and ctest -L would then run nothing of it.
  if(count EQUAL 0)
    message(FATAL_ERROR "doctest_suite_labels: no test in doctest suite '${suite}'")
  endif()
endforeach()
file(WRITE "${OUTPUT}" "${script}")
