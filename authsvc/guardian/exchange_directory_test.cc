#include "authsvc/guardian/exchange_directory.h"

#include <doctest/doctest.h>

namespace authsvc {
namespace {

ExchangeInfo exchange(const std::string& name, const std::string& type = "topic",
                      bool durable = true) {
  ExchangeInfo e;
  e.vhost = "/";
  e.name = name;
  e.type = type;
  e.durable = durable;
  return e;
}

BindingInfo binding(const std::string& source, const std::string& destination) {
  return BindingInfo{"/", source, destination, "queue"};
}

ExchangeViolationRecord violation(MessageViolation kind, std::int64_t count) {
  ExchangeViolationRecord v;
  v.kind = kind;
  v.count = count;
  return v;
}

}  // namespace

TEST_CASE("exchange directory: the Pulse exchanges with their bindings and samples") {
  ExchangeSample sample;
  sample.exchange = ResourceKey{"/", "exchange/alice/a"};
  sample.inspected = 9;
  sample.violations = {violation(MessageViolation::not_json, 2),
                       violation(MessageViolation::transient, 1),
                       violation(MessageViolation::content_type, 3)};
  std::vector<ExchangeEntry> rows = exchange_directory(
      {exchange("exchange/bob/b", "fanout", false), exchange("amq.topic"),
       exchange("exchange/alice/a")},
      {binding("exchange/alice/a", "queue/bob/q"), binding("exchange/alice/a", "queue/carol/q"),
       binding("exchange/alice/a", "authsvc.sampler.0123456789abcdef"),
       binding("exchange/bob/b", "queue/bob/q"), binding("", "queue/bob/q")},
      {sample});
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].exchange.name == "exchange/alice/a");
  CHECK(rows[0].owner == "alice");
  CHECK(rows[0].bindings == 2);  // not the sampler's own queue
  REQUIRE(rows[0].sample.has_value());
  CHECK(rows[0].problem.empty());
  // The MUSTs first, each with its count.
  CHECK(compliance_summary(rows[0]) == "not-json 2, content-type 3, transient 1");
  CHECK(rows[1].exchange.name == "exchange/bob/b");
  CHECK(rows[1].bindings == 1);
  CHECK(rows[1].problem == "its type is fanout, not topic and it is not durable");
  CHECK(compliance_summary(rows[1]) == "not durable; not topic");

  ExchangeEntry quiet;
  quiet.exchange = exchange("exchange/carol/c");
  CHECK(compliance_summary(quiet) == "not sampled yet");
  quiet.sample = ExchangeSample{};
  CHECK(compliance_summary(quiet) == "ok");
}

TEST_CASE("exchange directory: a routing key's fields by index") {
  CHECK(routing_key_fields("") == std::vector<std::string>{});
  CHECK(routing_key_fields("a") == std::vector<std::string>{"a"});
  CHECK(routing_key_fields("a.b..c.") == std::vector<std::string>{"a", "b", "", "c", ""});
}

TEST_CASE("exchange directory: a payload is pretty-printed when it is whole JSON, escaped always") {
  MessageExample m;
  m.payload = std::string(R"({"a":[1,{"b":"\u001b[31m"}],"z":")") + "\u202E" + "rtl\"}";
  m.size = static_cast<std::int64_t>(m.payload.size());
  std::string shown = shown_payload(m, 4096);
  CHECK(shown ==
        "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"\\\\u001b[31m\"\n    }\n  ],\n"
        "  \"z\": \"\\u{202E}rtl\"\n}");
  CHECK(shown_payload(m, 30).find("more bytes") != std::string::npos);
  // Not JSON: as it is, escaped.
  m.payload = "plain\x1b[2Jtext\xff";
  m.size = static_cast<std::int64_t>(m.payload.size());
  CHECK(shown_payload(m, 4096) == "plain\\x1b[2Jtext\\xff");
  // Nested past the inspector's depth: not parsed again.
  m.payload = std::string(100, '[') + std::string(100, ']');
  m.size = static_cast<std::int64_t>(m.payload.size());
  CHECK(shown_payload(m, 4096) == m.payload);
  // Kept in part: never pretty, and says how much is missing.
  m.payload = R"({"a":1})";
  m.size = 20000;
  CHECK(shown_payload(m, 4096) == "{\"a\":1} ... (19993 more bytes not kept)");
  // Cut to the bound.
  m.payload = std::string(10000, 'x');
  m.size = 10000;
  CHECK(shown_payload(m, 100).size() < 200);
}

}  // namespace authsvc
