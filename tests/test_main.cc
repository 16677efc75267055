#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <string_view>

#include "tests/test_support.h"

namespace {

// What the run did, for main's check below.
bool tests_run_started = false;  // a run, not a query (--list-test-cases...)
int test_cases_started = 0;
int subcases_started = 0;

// Tells test_support which test case runs, so that the token ledger and the
// kept artifacts say which test a token or a log came from, and the leak
// check can tell a full run from a subset.
struct CurrentTestListener : doctest::IReporter {
  explicit CurrentTestListener(const doctest::ContextOptions&) {}
  void test_case_start(const doctest::TestCaseData& test) override {
    ++test_cases_started;
    authsvc::testing::set_current_test(test.m_name);
  }
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override { tests_run_started = true; }
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override { ++subcases_started; }
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

// Whether the command line has doctest's subcase filter (-sc=, --subcase=,
// with or without doctest's "dt-" prefix).
bool has_subcase_filter(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    while (!arg.empty() && arg.front() == '-') arg.remove_prefix(1);
    if (arg.substr(0, 3) == "dt-") arg.remove_prefix(3);
    if (arg.substr(0, 3) == "sc=" || arg.substr(0, 8) == "subcase=") return true;
  }
  return false;
}

}  // namespace

REGISTER_LISTENER("current_test", 1, CurrentTestListener);

// doctest's own main, except that a run that ran nothing fails: doctest
// exits 0 when a filter (--test-case, --test-suite, --source-file...)
// matches no test, so a CTest entry whose name no longer selects its test
// would pass without testing anything. Queries (--list-test-cases and the
// like, which doctest_discover_tests runs at build time) are not runs and
// are left alone.
int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  int result = context.run();
  if (!tests_run_started) return result;
  if (test_cases_started == 0) {
    std::cerr << "authsvc_tests: FAILED: no test case ran; does the filter match any test?\n";
    return result != 0 ? result : 1;
  }
  if (subcases_started == 0 && has_subcase_filter(argc, argv)) {
    std::cerr << "authsvc_tests: FAILED: no subcase ran; does the subcase filter match any?\n";
    return result != 0 ? result : 1;
  }
  return result;
}
