#include "authsvc/server/audit_log.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "authsvc/core/audit_line.h"
#include "tests/test_support.h"

namespace authsvc {

TEST_CASE("lines from many threads all reach the file, whole, once each") {
  testing::TempDir dir;
  std::string path = dir.file("audit.log");
  constexpr int kThreads = 8;
  constexpr int kLines = 2000;
  {
    AuditLog log(path);
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&log, t] {
        for (int i = 0; i < kLines; ++i) log.append(fmt::format(R"({{"t":{},"i":{}}})", t, i));
      });
    }
    for (std::thread& w : writers) w.join();
    log.flush();
    CHECK(log.lines_written() == kThreads * kLines);
  }
  std::vector<std::string> lines = testing::lines_of(testing::read_file(path));
  REQUIRE(lines.size() == kThreads * kLines);
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    auto j = nlohmann::json::parse(line);
    int t = j["t"];
    // Each thread's lines keep their order.
    CHECK(j["i"] == next[static_cast<std::size_t>(t)]++);
  }
}

TEST_CASE("the audit file is created private and appended to, never truncated") {
  testing::TempDir dir;
  std::string path = dir.file("audit.log");
  { AuditLog(path).append("first"); }
  { AuditLog(path).append("second"); }
  CHECK(testing::read_file(path) == "first\nsecond\n");
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("an audit log that cannot be opened is an error at start") {
  CHECK_THROWS_WITH_AS(AuditLog("/nonexistent-dir/audit.log"),
                       doctest::Contains("cannot open audit log '/nonexistent-dir/audit.log'"),
                       AuditLogError);
}

TEST_CASE("a decision line is one JSON object with RFC 3339 microsecond time") {
  DecisionRecord r;
  r.ts = std::chrono::system_clock::time_point(std::chrono::microseconds(1'700'000'000'123'456));
  r.endpoint = "resource";
  r.user = "bob";
  r.name = "queue/bob/\"quoted\"\nline";
  r.rule = "own-queue";
  r.us = 12;
  std::string line = to_json_line(r);
  CHECK(line.find('\n') == std::string::npos);
  auto j = nlohmann::json::parse(line);
  CHECK(j["ts"] == "2023-11-14T22:13:20.123456Z");
  CHECK(j["name"] == "queue/bob/\"quoted\"\nline");
  CHECK(j["decision"] == "deny");
  CHECK(j["us"] == 12);
}

}  // namespace authsvc
