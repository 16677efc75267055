#include "authsvc/guardian/exchange_tally.h"

#include <doctest/doctest.h>

namespace authsvc {
namespace {

SampledMessage message(const std::string& exchange, const std::string& routing_key,
                       const std::string& payload) {
  SampledMessage m;
  m.exchange = ResourceKey{"/", exchange};
  m.routing_key = routing_key;
  m.content_type = "application/json";
  m.delivery_mode = 2;
  m.size = payload.size();
  m.payload = payload;
  return m;
}

const ExchangeViolationRecord* find(const ExchangeSample& s, MessageViolation kind) {
  for (const auto& v : s.violations) {
    if (v.kind == kind) return &v;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("exchange tally: counts each exchange's messages, violations and shapes until taken") {
  ExchangeTally tally;
  tally.add(message("exchange/alice/a", "x.y.z", R"({"b":1,"a":2})"),
            "2026-01-01T00:00:01.000000Z");
  SampledMessage plain = message("exchange/alice/a", "x", "hello");
  plain.content_type = "text/plain";
  plain.delivery_mode = 1;
  tally.add(plain, "2026-01-01T00:00:02.000000Z");
  tally.add(message("exchange/bob/b", "k.l", R"({"c":[1]})"), "2026-01-01T00:00:03.000000Z");
  tally.add(message("exchange/alice/a", "", R"({"a":3,"d":4})"), "2026-01-01T00:00:04.000000Z");

  std::vector<ExchangeSample> taken = tally.take();
  REQUIRE(taken.size() == 2);
  CHECK(tally.empty());
  CHECK(tally.take().empty());
  const ExchangeSample& a = taken[0];
  CHECK(a.exchange.name == "exchange/alice/a");
  CHECK(a.inspected == 3);
  CHECK(a.first_seen_at == "2026-01-01T00:00:01.000000Z");
  CHECK(a.last_seen_at == "2026-01-01T00:00:04.000000Z");
  CHECK(a.json_keys == std::vector<std::string>{"b", "a", "d"});
  CHECK(a.routing_key_fields_min == 0);
  CHECK(a.routing_key_fields_max == 3);
  CHECK(a.last.payload == R"({"a":3,"d":4})");
  // In kMessageViolations' order, each with its last example.
  REQUIRE(a.violations.size() == 4);
  CHECK(a.violations[0].kind == MessageViolation::not_json);
  CHECK(a.violations[1].kind == MessageViolation::content_type);
  CHECK(a.violations[2].kind == MessageViolation::transient);
  CHECK(a.violations[3].kind == MessageViolation::no_routing_key);
  CHECK(find(a, MessageViolation::content_type)->example.content_type == "text/plain");
  CHECK(find(a, MessageViolation::transient)->example.delivery_mode == 1);
  CHECK(find(a, MessageViolation::no_routing_key)->last_at == "2026-01-01T00:00:04.000000Z");
  const ExchangeSample& b = taken[1];
  CHECK(b.inspected == 1);
  CHECK(b.violations.empty());
  CHECK(b.json_keys == std::vector<std::string>{"c"});
}

TEST_CASE(
    "exchange tally: a payload read in part is over the limit, and neither UTF-8 nor JSON is "
    "held against it") {
  ExchangeTally tally;
  SampledMessage big = message("exchange/alice/a", "k", std::string(100, '{'));
  big.size = 100 * 1024 * 1024;  // announced; the sampler read the first 100 bytes
  MessageInspection found = tally.add(big, "2026-01-01T00:00:01.000000Z");
  CHECK(found.has(MessageViolation::oversize));
  CHECK_FALSE(found.has(MessageViolation::not_json));
  CHECK_FALSE(found.has(MessageViolation::not_utf8));
  std::vector<ExchangeSample> taken = tally.take();
  REQUIRE(taken.size() == 1);
  REQUIRE(taken[0].violations.size() == 1);
  CHECK(taken[0].violations[0].example.size == 100 * 1024 * 1024);
  CHECK(taken[0].violations[0].example.payload.size() == 100);
}

TEST_CASE("exchange tally: keeps the first bytes of a payload and the first 64 keys") {
  ExchangeTally tally;
  std::string object = "{";
  for (int i = 0; i < 100; ++i)
    object += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":0";
  object += "}";
  object += std::string(kMessageExampleBytes, ' ');
  tally.add(message("exchange/alice/a", "k", object), "2026-01-01T00:00:01.000000Z");
  std::vector<ExchangeSample> taken = tally.take();
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].json_keys.size() == ExchangeSample::kMaxJsonKeys);
  CHECK(taken[0].json_keys.front() == "k0");
  CHECK(taken[0].last.payload.size() == kMessageExampleBytes);
  CHECK(taken[0].last.size == static_cast<std::int64_t>(object.size()));
}

}  // namespace authsvc
