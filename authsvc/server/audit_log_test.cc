#include "authsvc/server/audit_log.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "authsvc/core/audit_line.h"
#include "authsvc/core/audit_line_scan.h"
#include "tests/test_support.h"

namespace authsvc {

TEST_CASE("lines from many threads all reach the file, whole, once each" *
          doctest::test_suite("threaded")) {
  testing::TempDir dir;
  std::string path = dir.file("audit.log");
  constexpr int kThreads = 8;
  constexpr int kLines = 2000;
  {
    AuditLog log(path, "pulse-1:8000");
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
    CHECK(j["node"] == "pulse-1:8000");
    int t = j["t"];
    // Each thread's lines keep their order.
    CHECK(j["i"] == next[static_cast<std::size_t>(t)]++);
  }
}

TEST_CASE("the audit file is created private and appended to, never truncated" *
          doctest::test_suite("threaded")) {
  testing::TempDir dir;
  std::string path = dir.file("audit.log");
  { AuditLog(path, "pulse-1:8000").append("first"); }
  { AuditLog(path, "pulse-1:8000").append("second"); }
  CHECK(testing::read_file(path) == "first\nsecond\n");
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("an audit log that cannot be opened is an error at start") {
  CHECK_THROWS_WITH_AS(AuditLog("/nonexistent-dir/audit.log", "pulse-1:8000"),
                       doctest::Contains("cannot open audit log '/nonexistent-dir/audit.log'"),
                       AuditLogError);
}

TEST_CASE("reopen: lines appended after it go to a new file at the same path, created 0600") {
  testing::TempDir dir;
  std::string path = dir.file("audit.log");
  std::string rotated = dir.file("audit.log.1");
  AuditLog log(path, "pulse-1:8000");
  log.append("before");
  log.flush();
  REQUIRE(std::rename(path.c_str(), rotated.c_str()) == 0);
  log.append("renamed");  // logrotate renamed the file; until the reopen, it gets the lines
  log.flush();
  CHECK(log.reopen());
  log.append("after");
  log.flush();
  CHECK(testing::read_file(rotated) == "before\nrenamed\n");
  CHECK(testing::read_file(path) == "after\n");
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("reopen on stdout does nothing, and a failed reopen keeps the old file") {
  CHECK_FALSE(AuditLog("-", "pulse-1:8000").reopen());

  testing::TempDir dir;
  std::filesystem::create_directory(dir.file("logs"));
  std::string path = dir.file("logs/audit.log");
  AuditLog log(path, "pulse-1:8000");
  log.append("one");
  // The folder moves away: the path can no longer be created.
  std::filesystem::rename(dir.file("logs"), dir.file("moved"));
  std::string refused = "cannot open audit log '" + path + "'";
  CHECK_THROWS_WITH_AS(log.reopen(), doctest::Contains(refused.c_str()), AuditLogError);
  log.append("two");
  log.flush();
  CHECK(testing::read_file(dir.file("moved/audit.log")) == "one\ntwo\n");
}

TEST_CASE("reopen while threads append: every line once, whole, in order across the files") {
  testing::TempDir dir;
  std::string path = dir.file("audit.log");
  constexpr int kThreads = 4;
  constexpr int kLines = 50000;
  constexpr int kRotations = 20;
  auto rotated = [&](int r) { return fmt::format("{}.{}", path, r); };
  {
    AuditLog log(path, "pulse-1:8000");
    std::atomic<int> running{kThreads};
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&log, &running, t] {
        for (int i = 0; i < kLines; ++i) log.append(fmt::format(R"({{"t":{},"i":{}}})", t, i));
        --running;
      });
    }
    // Rotate while they write, as logrotate would: rename, then reopen; the
    // next rotation once the writer wrote more (or the threads are done).
    for (int r = 1; r <= kRotations; ++r) {
      std::uint64_t written = log.lines_written();
      REQUIRE(std::rename(path.c_str(), rotated(r).c_str()) == 0);
      CHECK(log.reopen());
      while (running > 0 && log.lines_written() == written) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    for (std::thread& w : writers) w.join();
    log.flush();
  }
  // Oldest first: the rotated files in turn, then the current one.
  std::vector<std::vector<int>> seen(kThreads);
  int files_with_lines = 0;
  for (int r = 1; r <= kRotations + 1; ++r) {
    std::string text = testing::read_file(r <= kRotations ? rotated(r) : path);
    if (text.empty()) continue;
    ++files_with_lines;
    CHECK(text.back() == '\n');
    for (const std::string& line : testing::lines_of(text)) {
      auto j = nlohmann::json::parse(line);  // a torn line would not parse
      seen.at(j["t"].get<std::size_t>()).push_back(j["i"].get<int>());
    }
  }
  for (const std::vector<int>& got : seen) {
    REQUIRE(got.size() == kLines);
    for (int i = 0; i < kLines; ++i) {
      if (got[static_cast<std::size_t>(i)] != i) {
        FAIL_CHECK("line " << i << " missing, repeated or out of order");
        break;
      }
    }
  }
  MESSAGE(files_with_lines << " of " << kRotations + 1 << " files got lines");
  CHECK(files_with_lines > 1);
}

TEST_CASE("every line gets the node as its first field, and reads back as the same line") {
  testing::TempDir dir;
  std::string path = dir.file("audit.log");
  DecisionRecord decision;
  decision.ts = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  decision.endpoint = "user";
  decision.user = "alice";
  decision.allow = true;
  decision.rule = "login";
  AuditEvent event;
  event.id = 42;
  event.ts = "2023-11-14T22:13:20.000000Z";
  event.actor = "cli";
  event.action = "user add";
  event.user = "alice";
  WebRecord web;
  web.ts = decision.ts;
  web.action = "page";
  web.ok = true;
  const std::vector<std::string> records = {to_json_line(decision), to_json_line(event),
                                            to_json_line(web)};
  {
    AuditLog log(path, "pulse-1:8000");
    for (const std::string& line : records) log.append(line);
    log.append("{}");
  }
  std::vector<std::string> lines = testing::lines_of(testing::read_file(path));
  REQUIRE(lines.size() == 4);
  for (std::size_t i = 0; i < records.size(); ++i) {
    CAPTURE(lines[i]);
    CHECK(lines[i] == R"({"node":"pulse-1:8000",)" + records[i].substr(1));
    std::string error;
    std::optional<AuditLineView> view = scan_audit_line(lines[i], &error);
    REQUIRE_MESSAGE(view, error);
    CHECK(view->node.raw == "pulse-1:8000");
  }
  CHECK(lines[3] == R"({"node":"pulse-1:8000"})");
  CHECK(nlohmann::json::parse(lines[1])["event"] == 42);

  // Whatever it is given stays JSON; the CLI lets no such name through.
  {
    AuditLog log(path, "a\"b");
    log.append(records[0]);
  }
  CHECK(nlohmann::json::parse(testing::lines_of(testing::read_file(path)).back())["node"] ==
        "a\"b");
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
