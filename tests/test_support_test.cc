// The test harness's own promises (tests/test_support.h), where breaking one
// would let other tests pass by accident.
#include "tests/test_support.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace authsvc {
namespace {

// Sets an environment variable for the scope, then puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const std::string& name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name.c_str())) old_ = old;
    setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("a child gets the sanitizer options and the time scale, and no other variable") {
  // Under scripts/sanitize.sh these are set already; keep their values, so
  // that nothing else this test starts sees a change.
  auto current_or = [](const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return std::string(value ? value : fallback);
  };
  std::vector<std::pair<std::string, std::string>> forwarded = {
      {"ASAN_OPTIONS", current_or("ASAN_OPTIONS", "verbosity=0")},
      {"UBSAN_OPTIONS", current_or("UBSAN_OPTIONS", "verbosity=0")},
      {"TSAN_OPTIONS", current_or("TSAN_OPTIONS", "verbosity=0")},
      {"LSAN_OPTIONS", current_or("LSAN_OPTIONS", "verbosity=0")},
      {"AUTHSVC_TEST_TIME_SCALE", current_or("AUTHSVC_TEST_TIME_SCALE", "1")},
  };
  std::vector<std::unique_ptr<ScopedEnv>> set;
  for (const auto& [name, value] : forwarded)
    set.push_back(std::make_unique<ScopedEnv>(name, value));
  ScopedEnv not_forwarded("AUTHSVC_TEST_NOT_FORWARDED", "1");

  testing::TempDir dir;
  testing::ChildProcess env({"/usr/bin/env"}, dir, "env");
  REQUIRE(env.wait() == 0);
  std::vector<std::string> lines = testing::lines_of(env.stdout_text());
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  for (const auto& [name, value] : forwarded) {
    CAPTURE(name);
    CHECK(has(name + "=" + value));
  }
  CHECK(has("PATH=/usr/bin:/bin"));
  CHECK(has("HOME=/tmp"));
  for (const std::string& line : lines) {
    CAPTURE(line);
    CHECK(line.rfind("AUTHSVC_TEST_NOT_FORWARDED=", 0) != 0);
  }
  CHECK(lines.size() == forwarded.size() + 2);
}

}  // namespace authsvc
