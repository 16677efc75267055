#include "authsvc/guardian/violation_mail.h"

#include <doctest/doctest.h>

#include "authsvc/core/timestamp.h"

namespace authsvc {
namespace {

using std::chrono::hours;

std::chrono::system_clock::time_point at(const std::string& rfc3339) {
  return std::chrono::system_clock::time_point(
      std::chrono::microseconds(rfc3339_to_unix_us(rfc3339).value()));
}

ExchangeSample sample_with(MessageViolation kind, std::int64_t count, std::string mailed_at,
                           std::int64_t mailed_count) {
  ExchangeSample s;
  s.exchange = ResourceKey{"/", "exchange/alice/a"};
  s.inspected = 40;
  ExchangeViolationRecord v;
  v.kind = kind;
  v.count = count;
  v.last_at = "2026-01-02T00:00:00.000000Z";
  v.mailed_at = std::move(mailed_at);
  v.mailed_count = mailed_count;
  v.example.routing_key = "red.\x1b[31m.key";
  v.example.content_type = "text/plain";
  v.example.delivery_mode = 1;
  v.example.size = 20480;
  v.example.payload = "line one\r\nSubject: forged\x07\xff";
  s.violations.push_back(v);
  return s;
}

}  // namespace

TEST_CASE("violation mail: due when seen since the last mail and the period is over") {
  const auto now = at("2026-01-02T12:00:00.000000Z");
  CHECK(violation_mails_due({sample_with(MessageViolation::not_json, 3, "", 0)}, now, hours(24))
            .size() == 1);
  // Mailed 12 hours ago: not again within the day, whatever came since.
  CHECK(violation_mails_due(
            {sample_with(MessageViolation::not_json, 9, "2026-01-02T00:00:00.000000Z", 3)}, now,
            hours(24))
            .empty());
  // A day and more: due again, but only with something new to tell.
  CHECK(violation_mails_due(
            {sample_with(MessageViolation::not_json, 9, "2026-01-01T12:00:00.000000Z", 3)}, now,
            hours(24))
            .size() == 1);
  CHECK(violation_mails_due(
            {sample_with(MessageViolation::not_json, 3, "2026-01-01T00:00:00.000000Z", 3)}, now,
            hours(24))
            .empty());
  // The period is the operator's.
  CHECK(violation_mails_due(
            {sample_with(MessageViolation::not_json, 9, "2026-01-02T10:00:00.000000Z", 3)}, now,
            hours(1))
            .size() == 1);
}

TEST_CASE(
    "violation mail: names the kind, quotes the rule, counts, and shows the example escaped") {
  ViolationMailDue due{ResourceKey{"/", "exchange/alice/a"}, {}, 40};
  due.violation = sample_with(MessageViolation::content_type, 7, "2026-01-01T00:00:00.000000Z", 2)
                      .violations[0];
  std::vector<OutboxMail> mails =
      violation_mails(due, "alice", {"a@example.org", "b@example.org"}, hours(24));
  REQUIRE(mails.size() == 2);
  CHECK(mails[0].recipient == "a@example.org");
  CHECK(mails[1].recipient == "b@example.org");
  CHECK(mails[0].body == mails[1].body);
  const OutboxMail& m = mails[0];
  CHECK(m.subject ==
        "[Pulse] exchange exchange/alice/a: messages whose content type is not application/json "
        "(content-type)");
  CHECK(m.body.find("\"their Content-Type MUST be application/json\" (a MUST)") !=
        std::string::npos);
  CHECK(m.body.find("5 broke this rule since the last mail") != std::string::npos);
  CHECK(m.body.find("(7 of 40 inspected, all told)") != std::string::npos);
  CHECK(m.body.find("routing key:   \"red.\\x1b[31m.key\"") != std::string::npos);
  CHECK(m.body.find("content type:  \"text/plain\"") != std::string::npos);
  CHECK(m.body.find("delivery mode: 1 (transient)") != std::string::npos);
  CHECK(m.body.find("size:          20480 bytes") != std::string::npos);
  CHECK(m.body.find("payload:       \"line one\\x0d\\x0aSubject: forged\\x07\\xff\"") !=
        std::string::npos);
  CHECK(m.body.find("every\n1d,") != std::string::npos);
  // Nothing the publisher chose reaches the mail raw.
  CHECK(m.body.find('\x1b') == std::string::npos);
  CHECK(m.body.find('\x07') == std::string::npos);
  CHECK(m.body.find("\r\nSubject") == std::string::npos);
}

TEST_CASE("violation mail: the first says so, and an owner-less account gets none") {
  ViolationMailDue due{ResourceKey{"/", "exchange/alice/a"}, {}, 40};
  due.violation = sample_with(MessageViolation::oversize, 1, "", 0).violations[0];
  std::vector<OutboxMail> mails = violation_mails(due, "alice", {"a@example.org"}, hours(24));
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].body.find("1 broke this rule\n") != std::string::npos);
  CHECK(mails[0].body.find("\"Messages SHOULD NOT be larger than 8 kB\" (a SHOULD)") !=
        std::string::npos);
  CHECK(violation_mails(due, "alice", {}, hours(24)).empty());
}

}  // namespace authsvc
