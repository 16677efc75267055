#include "authsvc/core/audit_query.h"

#include <doctest/doctest.h>

#include <vector>

#include "authsvc/core/timestamp.h"

namespace authsvc {
namespace {

// One line of each kind and outcome, a microsecond apart, from three nodes;
// the last from before nodes had names.
const std::vector<std::string> kLines = {
    R"({"node":"pulse-1:8000","ts":"2026-11-27T23:18:49.000001Z","endpoint":"resource","user":"alice","decision":"allow","rule":"own-exchange"})",
    R"({"node":"pulse-1:8000","ts":"2026-11-27T23:18:49.000002Z","endpoint":"topic","user":"alice","decision":"deny","rule":"default-deny"})",
    R"({"node":"pulse-1:8000","ts":"2026-11-27T23:18:49.000003Z","endpoint":"user","user":"bob","decision":"deny","rule":"login"})",
    R"({"node":"pulse-2:8000","ts":"2026-11-27T23:18:49.000004Z","event":12,"actor":"cli","operator":"root","action":"user disable","user":"alice","detail":"","decision":"ok"})",
    R"({"node":"web-1","ts":"2026-11-27T23:18:49.000005Z","actor":"web","operator":"a@example.org","action":"account rotate","user":"alice","decision":"denied","status":403})",
    R"({"node":"\u0077eb-1","ts":"2026-11-27T23:18:49.000006Z","actor":"web","operator":"b@example.org","action":"page","user":"","decision":"ok","status":200})",
    R"({"ts":"2026-11-27T23:18:49.000007Z","endpoint":"resource","user":"\u0062ob","decision":"allow","rule":"own-queue"})",
};

// The numbers (1-based, as in kLines) of the lines `query` selects.
std::vector<int> selected(const AuditQuery& query) {
  std::vector<int> numbers;
  for (std::size_t i = 0; i < kLines.size(); ++i) {
    std::string error;
    std::optional<AuditLineView> line = scan_audit_line(kLines[i], &error);
    REQUIRE_MESSAGE(line, error);
    if (query.matches(*line)) numbers.push_back(static_cast<int>(i) + 1);
  }
  return numbers;
}

std::int64_t at(int micros) { return *rfc3339_to_unix_us("2026-11-27T23:18:49.000000Z") + micros; }

}  // namespace

TEST_CASE("no condition selects every line, and each condition narrows it") {
  CHECK(selected({}) == std::vector<int>{1, 2, 3, 4, 5, 6, 7});
  AuditQuery q;
  q.user = "alice";  // every kind of line names its user
  CHECK(selected(q) == std::vector<int>{1, 2, 4, 5});
  q.user = "bob";  // escaped or not
  CHECK(selected(q) == std::vector<int>{3, 7});
  q.user = "";
  CHECK(selected(q) == std::vector<int>{6});
  q = {};
  q.rule = "default-deny";  // decision lines alone have a rule
  CHECK(selected(q) == std::vector<int>{2});
  q = {};
  q.endpoint = "resource";
  CHECK(selected(q) == std::vector<int>{1, 7});
}

TEST_CASE("node selects the lines one process wrote, and a line without a node matches none") {
  AuditQuery q;
  q.node = "pulse-1:8000";
  CHECK(selected(q) == std::vector<int>{1, 2, 3});
  q.node = "pulse-2:8000";
  CHECK(selected(q) == std::vector<int>{4});
  q.node = "web-1";  // escaped or not
  CHECK(selected(q) == std::vector<int>{5, 6});
  q.node = "pulse-1";  // the whole name, not a part of it
  CHECK(selected(q).empty());
  q.node = "";
  CHECK(selected(q).empty());
}

TEST_CASE("deny is every refusal and allow everything else: each line is one of the two") {
  AuditQuery deny;
  deny.decision = Verdict::deny;
  CHECK(selected(deny) == std::vector<int>{2, 3, 5});
  AuditQuery allow;
  allow.decision = Verdict::allow;
  CHECK(selected(allow) == std::vector<int>{1, 4, 6, 7});
}

TEST_CASE("since is inclusive and until exclusive, to the microsecond") {
  AuditQuery q;
  q.since_us = at(3);
  CHECK(selected(q) == std::vector<int>{3, 4, 5, 6, 7});
  q.until_us = at(5);
  CHECK(selected(q) == std::vector<int>{3, 4});
  // Windows that meet share no line.
  AuditQuery next;
  next.since_us = at(5);
  next.until_us = at(8);
  CHECK(selected(next) == std::vector<int>{5, 6, 7});
}

TEST_CASE("conditions combine with and") {
  AuditQuery q;
  q.user = "alice";
  q.decision = Verdict::deny;
  CHECK(selected(q) == std::vector<int>{2, 5});
  q.rule = "default-deny";
  CHECK(selected(q) == std::vector<int>{2});
  q.endpoint = "resource";
  CHECK(selected(q).empty());
  q = {};
  q.user = "alice";
  q.node = "pulse-1:8000";
  CHECK(selected(q) == std::vector<int>{1, 2});
}

TEST_CASE("a time bound is RFC 3339, a date, or a duration before now") {
  using namespace std::chrono;
  const system_clock::time_point now = sys_days(year(2026) / 11 / 30) + hours(12);
  auto us = [&](std::string_view text) -> std::optional<std::int64_t> {
    std::string error;
    std::optional<std::int64_t> t = parse_audit_time(text, now, &error);
    if (!t) CHECK(error.find('\n') == std::string::npos);
    return t;
  };
  CHECK(us("2026-11-27T23:18:49.123456Z") == 1795821529123456);
  CHECK(us("2026-11-28T00:18:49.123456+01:00") == 1795821529123456);
  CHECK(us("2026-11-30") == *rfc3339_to_unix_us("2026-11-30T00:00:00Z"));
  CHECK(us("2h") == *rfc3339_to_unix_us("2026-11-30T10:00:00Z"));
  CHECK(us("7d") == *rfc3339_to_unix_us("2026-11-23T12:00:00Z"));
  CHECK(us("0") == *rfc3339_to_unix_us("2026-11-30T12:00:00Z"));
  for (const char* bad : {"", "never", "yesterday", "-2h", "2026-11-27T23:18:49", "1h30m"}) {
    CAPTURE(bad);
    CHECK_FALSE(us(bad));
  }
  std::string error;
  parse_audit_time("soon\x01", now, &error);
  CHECK(error.rfind("'soon\\x01' is not a time: ", 0) == 0);
}

}  // namespace authsvc
