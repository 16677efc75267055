#include "authsvc/core/message_inspection.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace authsvc {
namespace {

// A message that breaks nothing, to change one thing of at a time.
MessageFacts compliant(std::string_view payload) {
  return MessageFacts{"primary.build.finished", "application/json", 2, payload};
}

std::vector<std::string> kinds(const MessageInspection& found) {
  std::vector<std::string> names;
  for (MessageViolation kind : kMessageViolations) {
    if (found.has(kind)) names.emplace_back(violation_name(kind));
  }
  return names;
}

using Names = std::vector<std::string>;

TEST_CASE("message inspection: a compliant message breaks nothing, and its shape is kept") {
  MessageInspection found = inspect_message(compliant(R"({"build": 1, "state": {"a": [1]}})"));
  CHECK(found.violations == 0);
  CHECK(found.top_level_keys == Names{"build", "state"});
  CHECK(found.routing_key_fields == 3);
  // Any JSON value is JSON; only an object has keys.
  for (std::string_view payload : {"[1, 2]", "\"text\"", "12.5e3", "null", " true "}) {
    CAPTURE(payload);
    MessageInspection value = inspect_message(compliant(payload));
    CHECK(value.violations == 0);
    CHECK(value.top_level_keys.empty());
  }
}

TEST_CASE("message inspection: each kind of violation, alone") {
  std::string big(8193, ' ');
  big[0] = '1';
  std::string exactly(8192, ' ');
  exactly[0] = '1';
  struct Case {
    MessageFacts message;
    Names expected;
  };
  const std::vector<Case> cases = {
      {compliant("{\"a\": \"\xff\"}"), {"not-utf8"}},
      {compliant("\xc0\xaf"), {"not-utf8"}},      // an overlong '/'
      {compliant("\xed\xa0\x80"), {"not-utf8"}},  // a surrogate
      {compliant("plain text"), {"not-json"}},
      {compliant(""), {"not-json"}},
      {compliant("{\"a\": 1} {\"b\": 2}"), {"not-json"}},  // two values
      {compliant("{\"a\": 1,}"), {"not-json"}},
      {compliant("[1, 2"), {"not-json"}},
      {MessageFacts{"k", "text/plain", 2, "{}"}, {"content-type"}},
      {MessageFacts{"k", std::nullopt, 2, "{}"}, {"content-type"}},
      {MessageFacts{"k", "application/jsonx", 2, "{}"}, {"content-type"}},
      {MessageFacts{"k", "application/json; charset=latin1", 2, "{}"}, {"content-type"}},
      {compliant(big), {"oversize"}},
      {compliant(exactly), {}},
      {MessageFacts{"k", "application/json", 1, "{}"}, {"transient"}},
      {MessageFacts{"k", "application/json", std::nullopt, "{}"}, {"transient"}},
      {MessageFacts{"", "application/json", 2, "{}"}, {"no-routing-key"}},
      {MessageFacts{"", std::nullopt, std::nullopt, "\x80"},
       {"not-utf8", "content-type", "transient", "no-routing-key"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message.payload);
    CHECK(kinds(inspect_message(c.message)) == c.expected);
  }
}

TEST_CASE("message inspection: JSON nested past the limit is not JSON, and costs no stack") {
  MessageLimits limits;
  limits.max_depth = 64;
  std::string at_limit = std::string(64, '[') + std::string(64, ']');
  CHECK(inspect_message(compliant(at_limit), limits).violations == 0);
  std::string past = std::string(65, '[') + std::string(65, ']');
  CHECK(kinds(inspect_message(compliant(past), limits)) == Names{"not-json"});
  // A million levels, unclosed: stopped at the limit, not parsed through.
  std::string deep(1000000, '[');
  CHECK(kinds(inspect_message(compliant(deep), limits)) == Names{"not-json", "oversize"});
  std::string objects;
  for (int i = 0; i < 100; ++i) objects += "{\"k\":";
  objects += "1";
  objects += std::string(100, '}');
  MessageInspection found = inspect_message(compliant(objects), limits);
  CHECK(found.has(MessageViolation::not_json));
  CHECK(found.top_level_keys.empty());
}

TEST_CASE("message inspection: top-level keys are bounded in number and length") {
  MessageLimits limits;
  limits.max_keys = 3;
  limits.max_key_bytes = 4;
  MessageInspection found = inspect_message(
      compliant(R"({"alpha": {"inner": 1}, "b": 2, "gr\u00fc\u00dfe": 3, "d": 4, "e": 5})"),
      limits);
  CHECK(found.violations == 0);
  // Cut at a UTF-8 boundary: "grü" is 4 bytes, "grüß" 6.
  CHECK(found.top_level_keys == Names{"alph", "b", "gr\xc3\xbc"});
}

TEST_CASE("message inspection: application/json, any case, with a UTF-8 charset or none") {
  for (std::string_view ok : {"application/json", "Application/JSON", " application/json ",
                              "application/json; charset=utf-8", "application/json;charset=UTF-8",
                              "application/json; charset=\"utf-8\"", "application/json; q=1"}) {
    CAPTURE(ok);
    CHECK(is_json_content_type(ok));
  }
  for (std::string_view bad :
       {"", "text/json", "application/json5", "application/json; utf-8",
        "application/json; charset=utf-16", "application/ json", "text/plain; application/json"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_json_content_type(bad));
  }
}

TEST_CASE("message inspection: every kind has a name that reads back and a rule quoted") {
  for (MessageViolation kind : kMessageViolations) {
    CHECK(violation_from_name(violation_name(kind)) == kind);
    bool should = violation_rule(kind).find("SHOULD") != std::string_view::npos;
    bool must = violation_rule(kind).find("MUST") != std::string_view::npos;
    CHECK(should != must);
    CHECK(violation_is_must(kind) == must);
  }
  CHECK_FALSE(violation_from_name("oversized"));
}

TEST_CASE("message inspection: routing key fields are counted from the left") {
  CHECK(inspect_message(MessageFacts{"a", "application/json", 2, "{}"}).routing_key_fields == 1);
  CHECK(inspect_message(MessageFacts{"a.b.", "application/json", 2, "{}"}).routing_key_fields == 3);
  CHECK(inspect_message(MessageFacts{"", "application/json", 2, "{}"}).routing_key_fields == 0);
}

}  // namespace
}  // namespace authsvc
