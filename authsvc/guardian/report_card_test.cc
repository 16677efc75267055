#include "authsvc/guardian/report_card.h"

#include <doctest/doctest.h>

#include <algorithm>

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

ExchangeSample sample(const std::string& name, std::int64_t inspected,
                      std::vector<std::pair<MessageViolation, std::int64_t>> violations = {},
                      std::int64_t fields_min = 3, std::int64_t fields_max = 3) {
  ExchangeSample s;
  s.exchange = ResourceKey{"/", name};
  s.inspected = inspected;
  s.routing_key_fields_min = fields_min;
  s.routing_key_fields_max = fields_max;
  for (auto [kind, count] : violations) {
    ExchangeViolationRecord v;
    v.kind = kind;
    v.count = count;
    v.last_at = "2026-12-03T08:00:00.000000Z";
    s.violations.push_back(v);
  }
  return s;
}

QueueStatus queue(const std::string& name, QueueState state, std::int64_t messages = 0,
                  bool durable = true) {
  QueueStatus s;
  s.queue.vhost = "/";
  s.queue.name = name;
  s.queue.messages = messages;
  s.queue.durable = durable;
  s.owner = owner_of("queue", name);
  s.owner_known = true;
  s.state = state;
  return s;
}

ChannelInfo channel(const std::string& name, const std::string& user, bool confirm,
                    std::optional<std::int64_t> published, std::int64_t global_prefetch = 0) {
  ChannelInfo c;
  c.name = name;
  c.user = user;
  c.vhost = "/";
  c.confirm = confirm;
  c.published = published;
  c.global_prefetch = global_prefetch;
  return c;
}

ConsumerInfo consumer(const std::string& queue, const std::string& channel, const std::string& user,
                      std::int64_t prefetch, bool ack_required = true) {
  return ConsumerInfo{"/", queue, channel, user, prefetch, ack_required};
}

const ReportItem& find(const std::vector<ReportItem>& card, const std::string& subject,
                       const std::string& rule) {
  auto it = std::find_if(card.begin(), card.end(), [&](const ReportItem& i) {
    return i.subject == subject && i.rule == rule;
  });
  REQUIRE_MESSAGE(it != card.end(), subject << " " << rule);
  return *it;
}

bool says(const ReportItem& i, const std::string& text) {
  return std::any_of(i.evidence.begin(), i.evidence.end(),
                     [&](const std::string& line) { return line.find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("report card: an account with nothing on the broker has every item not seen") {
  ReportCardInput in;
  in.account = "carol";
  in.exchanges = {exchange("exchange/alice/a")};
  in.samples = {sample("exchange/alice/a", 10, {{MessageViolation::not_json, 3}})};
  in.channels = {channel("c (1)", "alice", false, 5)};
  in.consumers = {consumer("queue/alice/q", "c (1)", "alice", 0)};
  in.queues = {queue("queue/alice/q", QueueState::warned, 3000)};
  std::vector<ReportItem> card = report_card(in);
  REQUIRE(card.size() == 13);
  for (const ReportItem& i : card) {
    CHECK_MESSAGE(i.standing == Standing::not_seen, i.subject << " " << i.rule);
    CHECK_FALSE(i.evidence.empty());
  }
  CHECK_FALSE(breaks_a_must(card));
  CHECK(says(find(card, "Messages", "be UTF-8-encoded JSON"),
             "no message of carol's inspected (the guardian samples with --sample-messages)"));
  CHECK(says(find(card, "Consumers", "specify a consumer prefetch limit"),
             "carol has no consumer now"));
}

TEST_CASE("report card: exchanges, and what the sampler saw of their messages") {
  ReportCardInput in;
  in.account = "alice";
  in.exchanges = {exchange("exchange/alice/good"), exchange("exchange/alice/fan", "fanout"),
                  exchange("exchange/alice/gone-soon", "topic", false), exchange("exchange/bob/b")};
  in.samples = {
      sample("exchange/alice/good", 20),
      sample("exchange/alice/fan", 10,
             {{MessageViolation::not_utf8, 1},
              {MessageViolation::not_json, 2},
              {MessageViolation::transient, 4}},
             2, 4),
      // Deleted since: not counted.
      sample("exchange/alice/deleted", 5, {{MessageViolation::content_type, 5}}),
      sample("exchange/bob/b", 5, {{MessageViolation::oversize, 5}}),
  };
  std::vector<ReportItem> card = report_card(in);

  const ReportItem& named = find(card, "Exchanges", "be named exchange/<clientId>/<name>");
  CHECK(named.standing == Standing::met);
  CHECK(says(named, "3 exchanges, each named exchange/alice/...; the broker refuses alice any"));
  const ReportItem& topic = find(card, "Exchanges", "be topic exchanges");
  CHECK(topic.standing == Standing::not_met);
  CHECK(says(topic, "2 of 3 topic"));
  CHECK(says(topic, "not topic: exchange/alice/fan (fanout)"));
  const ReportItem& durable = find(card, "Exchanges", "be durable");
  CHECK(durable.standing == Standing::not_met);
  CHECK(says(durable, "not durable: exchange/alice/gone-soon"));

  const ReportItem& json = find(card, "Messages", "be UTF-8-encoded JSON");
  CHECK(json.obligation == Obligation::must);
  CHECK(json.standing == Standing::not_met);
  CHECK(says(json, "30 of its messages inspected, on 2 exchanges"));
  CHECK(says(json, "exchange/alice/fan: 3 of 10 inspected, the last 2026-12-03 08:00:00 UTC"));
  CHECK(find(card, "Messages", "carry application/json as Content-Type").standing == Standing::met);
  const ReportItem& persistent = find(card, "Messages", "be durable (persistent)");
  CHECK(persistent.obligation == Obligation::should);
  CHECK(persistent.standing == Standing::not_met);
  CHECK(says(persistent, "exchange/alice/fan: 4 of 10 inspected"));
  CHECK(find(card, "Messages", "be less than 8 KiB").standing == Standing::met);
  const ReportItem& key =
      find(card, "Messages", "have a routing key where fields have a fixed index from the left");
  CHECK(key.standing == Standing::not_met);
  CHECK(says(key, "exchange/alice/fan: routing keys of 2 to 4 fields"));
  CHECK(breaks_a_must(card));
}

TEST_CASE("report card: confirm channels and prefetch limits, the account's own only") {
  ReportCardInput in;
  in.account = "alice";
  in.channels = {
      channel("c (1)", "alice", true, 50),
      channel("c (2)", "alice", false, 3),
      channel("c (3)", "alice", false, std::nullopt),  // consumes only: not a publisher's
      channel("c (4)", "alice", false, std::nullopt, 25),
      channel("d (1)", "bob", false, 9),
  };
  in.consumers = {
      consumer("queue/alice/limited", "c (3)", "alice", 10),
      consumer("queue/alice/shared-limit", "c (4)", "alice", 0),
      consumer("queue/alice/unlimited", "c (3)", "alice", 0),
      consumer("queue/alice/auto-ack", "c (3)", "alice", 10, false),
      consumer("queue/bob/x", "d (1)", "bob", 0),
  };
  std::vector<ReportItem> card = report_card(in);
  const ReportItem& confirms = find(card, "Publishers", "use confirm-publish channels");
  CHECK(confirms.standing == Standing::not_met);
  CHECK(says(confirms, "open channels that published: 2, in confirm mode: 1"));
  CHECK(says(confirms, "without confirms: c (2)"));
  const ReportItem& prefetch = find(card, "Consumers", "specify a consumer prefetch limit");
  CHECK(prefetch.standing == Standing::not_met);
  CHECK(says(prefetch, "consumers: 4, with a prefetch limit: 2"));
  CHECK(says(prefetch, "without a limit, on queue/alice/unlimited"));
  CHECK(says(prefetch, "no-ack (a limit does not hold them back), on queue/alice/auto-ack"));
  CHECK_FALSE(breaks_a_must(card));  // both are SHOULDs

  in.channels = {channel("c (1)", "alice", true, 50), channel("c (3)", "alice", false, {})};
  in.consumers = {consumer("queue/alice/limited", "c (3)", "alice", 10)};
  card = report_card(in);
  CHECK(find(card, "Publishers", "use confirm-publish channels").standing == Standing::met);
  CHECK(find(card, "Consumers", "specify a consumer prefetch limit").standing == Standing::met);
}

TEST_CASE("report card: queues bounded or within limits, durable or auto-delete") {
  ReportCardInput in;
  in.account = "alice";
  QueueStatus capped = queue("queue/alice/capped", QueueState::capped, 8000);
  capped.limits.remove = 8000;
  QueueStatus transient = queue("queue/alice/transient", QueueState::ok, 1, false);
  QueueStatus exclusive = queue("queue/alice/exclusive", QueueState::ok, 0, false);
  exclusive.queue.exclusive = true;
  in.queues = {queue("queue/alice/bounded", QueueState::bounded, 40),
               queue("queue/alice/fine", QueueState::ok, 10),
               queue("queue/alice/new", QueueState::size_unknown),
               queue("queue/alice/exempt", QueueState::exempt, 90000),
               transient,
               exclusive,
               queue("queue/bob/huge", QueueState::warned, 5000)};
  std::vector<ReportItem> card = report_card(in);
  const ReportItem& bounded = find(card, "Queues", "not grow unbounded");
  CHECK(bounded.standing == Standing::met);
  CHECK(says(bounded,
             "1 bounded by a length limit, 3 under the warning threshold, 1 exempted by "
             "the operator"));
  const ReportItem& lasting = find(card, "Queues", "be durable or auto-delete");
  CHECK(lasting.standing == Standing::not_met);
  CHECK(says(lasting, "5 of 6 durable, auto-delete or exclusive"));
  CHECK(says(lasting, "transient yet kept after use: queue/alice/transient"));
  CHECK_FALSE(breaks_a_must(card));

  in.queues.push_back(capped);
  in.queues.push_back(queue("queue/alice/slow", QueueState::warned, 2500));
  card = report_card(in);
  const ReportItem& over = find(card, "Queues", "not grow unbounded");
  CHECK(over.standing == Standing::not_met);
  CHECK(says(over, "2 past the warning threshold"));
  CHECK(says(over, "queue/alice/capped (8000 messages; capped by the guardian at 8000)"));
  CHECK(says(over, "queue/alice/slow (2500 messages; warned at 2000, deleted at 8000)"));
  CHECK(breaks_a_must(card));
  CHECK(find(card, "Queues", "be named queue/<clientId>/<name>").standing == Standing::met);
}

TEST_CASE("report card: names in the evidence are escaped and few") {
  ReportCardInput in;
  in.account = "alice";
  in.exchanges.push_back(exchange("exchange/alice/\x1b[31mred", "fanout"));
  for (int i = 0; i < 8; ++i)
    in.exchanges.push_back(exchange("exchange/alice/f" + std::to_string(i), "fanout"));
  std::vector<ReportItem> card = report_card(in);
  const ReportItem& topic = find(card, "Exchanges", "be topic exchanges");
  CHECK(says(topic, "and 4 more"));
  for (const std::string& line : topic.evidence) CHECK(line.find('\x1b') == std::string::npos);
}

}  // namespace authsvc
