#include "authsvc/guardian/message_sampler.h"

#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "authsvc/core/timestamp.h"
#include "authsvc/guardian/fake_broker.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using namespace std::chrono_literals;

// The broker's AMQP side in memory: each subscribed exchange has a queue a
// test publishes to, delivered one message at a time as the real broker
// does with a prefetch of one (the next only after an ack). Safe to use
// from the test's thread while the sampler's runs (every call locks).
class FakeLink : public SamplerLink {
 public:
  std::map<ResourceKey, std::deque<SampledMessage>> queues;
  std::map<ResourceKey, bool> in_flight;  // delivered, not yet acked
  std::vector<std::string> log;  // "subscribe NAME", "unsubscribe NAME", "ack NAME", "close"
  std::vector<EndedSubscription> to_end;
  int failures_left = 0;  // next() throws BrokerError this many times
  std::size_t subscribes = 0;

  void publish(const std::string& exchange, SampledMessage m) {
    std::lock_guard lock(mutex_);
    m.exchange = ResourceKey{"/", exchange};
    queues[m.exchange].push_back(std::move(m));
  }
  void subscribe(const ResourceKey& exchange) override {
    std::lock_guard lock(mutex_);
    if (subscribed_.contains(exchange)) return;
    ++subscribes;
    subscribed_.insert(exchange);
    log.push_back("subscribe " + exchange.name);
  }
  void unsubscribe(const ResourceKey& exchange) override {
    std::lock_guard lock(mutex_);
    subscribed_.erase(exchange);
    in_flight.erase(exchange);
    log.push_back("unsubscribe " + exchange.name);
  }
  std::vector<ResourceKey> subscriptions() const override {
    std::lock_guard lock(mutex_);
    return {subscribed_.begin(), subscribed_.end()};
  }
  std::optional<SamplerDelivery> next(std::chrono::milliseconds timeout) override {
    {
      std::lock_guard lock(mutex_);
      if (std::optional<SamplerDelivery> d = take()) return d;
    }
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(20)));
    return std::nullopt;
  }
  void ack(const SamplerDelivery& d) override {
    std::lock_guard lock(mutex_);
    in_flight[d.message.exchange] = false;
    log.push_back("ack " + d.message.exchange.name);
  }
  std::vector<EndedSubscription> take_ended() override {
    std::lock_guard lock(mutex_);
    std::vector<EndedSubscription> ended;
    ended.swap(to_end);
    for (const auto& e : ended) subscribed_.erase(e.exchange);
    return ended;
  }
  void close() override {
    std::lock_guard lock(mutex_);
    subscribed_.clear();
    in_flight.clear();
    log.push_back("close");
  }
  std::size_t acks() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(
        log.begin(), log.end(), [](const auto& l) { return l.rfind("ack ", 0) == 0; }));
  }
  std::size_t subscribe_count() const {
    std::lock_guard lock(mutex_);
    return subscribes;
  }

 private:
  std::optional<SamplerDelivery> take() {
    if (failures_left > 0) {
      --failures_left;
      throw BrokerError("fake link: connection reset");
    }
    for (const ResourceKey& exchange : subscribed_) {
      auto& queue = queues[exchange];
      if (queue.empty() || in_flight[exchange]) continue;
      in_flight[exchange] = true;
      SamplerDelivery d;
      d.message = queue.front();
      queue.pop_front();
      d.subscription = ids_[exchange];
      d.tag = ++tag_;
      return d;
    }
    return std::nullopt;
  }

  mutable std::mutex mutex_;
  std::set<ResourceKey> subscribed_;
  std::map<ResourceKey, std::uint64_t> ids_;
  std::uint64_t tag_ = 0;
};

// The store, or a failure while `failing`.
class FlakySampleStore : public ExchangeSampleStore {
 public:
  explicit FlakySampleStore(ExchangeSampleStore& store) : store_(store) {}
  bool failing = false;
  void add_exchange_samples(const std::vector<ExchangeSample>& seen) override {
    check();
    store_.add_exchange_samples(seen);
  }
  std::vector<ExchangeSample> exchange_samples() override { return store_.exchange_samples(); }
  std::optional<ExchangeSample> exchange_sample(const ResourceKey& exchange) override {
    return store_.exchange_sample(exchange);
  }
  std::vector<ExchangeSample> unmailed_violations() override {
    check();
    return store_.unmailed_violations();
  }
  bool record_violation_mail(const ResourceKey& exchange, MessageViolation kind, std::int64_t count,
                             const std::string& mailed_at, const std::string& not_mailed_after,
                             const std::vector<OutboxMail>& mails) override {
    check();
    return store_.record_violation_mail(exchange, kind, count, mailed_at, not_mailed_after, mails);
  }

 private:
  void check() const {
    if (failing) throw StoreError("flaky store: database is locked");
  }
  ExchangeSampleStore& store_;
};

std::size_t count_lines(const std::vector<std::string>& lines, const std::string& part) {
  return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& l) {
    return l.find(part) != std::string::npos;
  }));
}

SampledMessage json(const std::string& routing_key, const std::string& payload) {
  SampledMessage m;
  m.routing_key = routing_key;
  m.content_type = "application/json";
  m.delivery_mode = 2;
  m.size = payload.size();
  m.payload = payload;
  return m;
}

ExchangeInfo exchange(const std::string& name) {
  ExchangeInfo e;
  e.vhost = "/";
  e.name = name;
  e.type = "topic";
  e.durable = true;
  return e;
}

struct Fixture {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  std::unique_ptr<Store> cli = open_store(db, Actor{"cli", "tester"}, OpenMode::create_if_missing);
  std::unique_ptr<Store> store = open_store(db, Actor{"guardian", ""});
  testing::FakeBroker broker;
  FakeLink link;
  testing::AuditLines audit;
  std::chrono::system_clock::time_point clock =
      std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000));

  Fixture() {
    testing::record_issued_token(
        cli->add_user(NewUser{"alice", {"alice@example.org", "al@example.org"}, {}, {"/"}, ""}));
    testing::record_issued_token(cli->add_user(NewUser{"bob", {"bob@example.org"}, {}, {"/"}, ""}));
    broker.exchange_list = {exchange("exchange/alice/a"), exchange("exchange/bob/b"),
                            exchange("amq.topic"), exchange("other/exchange")};
  }
  SamplerOptions options(std::int64_t rate = 6000) {
    SamplerOptions o;
    o.rate = rate;
    o.clock = [this] { return clock; };
    return o;
  }
  std::vector<OutboxMail> outbox() { return store->outbox(100); }
};

// Pumps until `n` messages were inspected in all, for at most 10 s.
std::size_t pump_until(MessageSampler& sampler, std::size_t n) {
  std::size_t inspected = 0;
  auto deadline = std::chrono::steady_clock::now() + testing::scaled(10s);
  while (inspected < n && std::chrono::steady_clock::now() < deadline)
    inspected += sampler.pump(50ms);
  return inspected;
}

}  // namespace

TEST_CASE("message sampler: follows the Pulse exchanges the broker lists, and only those") {
  Fixture f;
  MessageSampler sampler(*f.store, *f.store, f.broker, f.link, f.audit, f.options());
  sampler.refresh();
  CHECK(f.link.log ==
        std::vector<std::string>{"subscribe exchange/alice/a", "subscribe exchange/bob/b"});
  CHECK(sampler.figures().exchanges == 2);
  f.broker.exchange_list = {exchange("exchange/bob/b"), exchange("exchange/bob/c")};
  sampler.refresh();
  CHECK(f.link.log ==
        std::vector<std::string>{"subscribe exchange/alice/a", "subscribe exchange/bob/b",
                                 "unsubscribe exchange/alice/a", "subscribe exchange/bob/c"});
  // The management API failing is not the link's: its queues stay.
  f.broker.unreachable = true;
  CHECK_THROWS_AS(sampler.refresh(), std::runtime_error);
  CHECK(f.link.subscriptions().size() == 2);
}

TEST_CASE("message sampler: inspects at most `rate` messages an exchange a minute") {
  Fixture f;
  // One a minute: the first is inspected at once, the next not before a
  // minute has passed, since the first is not acknowledged before.
  MessageSampler sampler(*f.store, *f.store, f.broker, f.link, f.audit, f.options(1));
  sampler.refresh();
  for (int i = 0; i < 5; ++i) f.link.publish("exchange/alice/a", json("k", "{}"));
  f.link.publish("exchange/bob/b", json("k", "{}"));
  CHECK(pump_until(sampler, 2) == 2);
  // Given the time to take another: it did not.
  CHECK(sampler.pump(300ms) == 0);
  CHECK(f.link.acks() == 0);
  CHECK(f.link.queues[ResourceKey{"/", "exchange/alice/a"}].size() == 4);
  CHECK(sampler.figures().inspected == 2);

  // A hundred a second (10 ms apart): all five, each acknowledged.
  Fixture g;
  MessageSampler fast(*g.store, *g.store, g.broker, g.link, g.audit, g.options(6000));
  fast.refresh();
  for (int i = 0; i < 5; ++i) g.link.publish("exchange/alice/a", json("k", "{}"));
  CHECK(pump_until(fast, 5) == 5);
  CHECK(g.link.acks() >= 4);
}

TEST_CASE(
    "message sampler: records what it saw, and mails each kind once per period across "
    "restarts") {
  Fixture f;
  {
    MessageSampler sampler(*f.store, *f.store, f.broker, f.link, f.audit, f.options());
    sampler.refresh();
    f.link.publish("exchange/alice/a", json("a.b", "not json"));
    SampledMessage plain = json("a.b", "{}");
    plain.content_type = "text/plain";
    f.link.publish("exchange/alice/a", plain);
    f.link.publish("exchange/alice/a", json("a.b", "oops"));
    f.link.publish("exchange/bob/b", json("x.y.z", R"({"id":1})"));
    CHECK(pump_until(sampler, 4) == 4);
    sampler.report();
    CHECK(sampler.figures().violations == 3);
    CHECK(sampler.figures().mails_queued == 4);  // two kinds, two owners
  }
  std::vector<ExchangeSample> samples = f.store->exchange_samples();
  REQUIRE(samples.size() == 2);
  CHECK(samples[0].exchange.name == "exchange/alice/a");
  CHECK(samples[0].inspected == 3);
  REQUIRE(samples[0].violations.size() == 2);
  CHECK(samples[0].violations[0].kind == MessageViolation::not_json);
  CHECK(samples[0].violations[0].count == 2);
  CHECK(samples[0].violations[0].mailed_count == 2);
  CHECK(samples[1].exchange.name == "exchange/bob/b");
  CHECK(samples[1].json_keys == std::vector<std::string>{"id"});
  CHECK(samples[1].violations.empty());

  std::vector<OutboxMail> mails = f.outbox();
  REQUIRE(mails.size() == 4);
  std::set<std::string> subjects;
  for (const auto& m : mails) subjects.insert(m.recipient + " " + m.subject);
  CHECK(subjects == std::set<std::string>{
                        "al@example.org [Pulse] exchange exchange/alice/a: messages that are not "
                        "JSON (not-json)",
                        "alice@example.org [Pulse] exchange exchange/alice/a: messages that are "
                        "not JSON (not-json)",
                        "al@example.org [Pulse] exchange exchange/alice/a: messages whose content "
                        "type is not application/json (content-type)",
                        "alice@example.org [Pulse] exchange exchange/alice/a: messages whose "
                        "content type is not application/json (content-type)"});
  CHECK(count_lines(f.audit.lines(), "\"report message violation\"") == 2);

  // A restart: more of the same within the day is counted, not mailed.
  f.clock += 1h;
  {
    MessageSampler sampler(*f.store, *f.store, f.broker, f.link, f.audit, f.options());
    sampler.refresh();
    f.link.publish("exchange/alice/a", json("a.b", "still not json"));
    CHECK(pump_until(sampler, 1) == 1);
    sampler.report();
    CHECK(sampler.figures().mails_queued == 0);
  }
  CHECK(f.outbox().size() == 4);
  CHECK(f.store->exchange_sample(ResourceKey{"/", "exchange/alice/a"})->violations[0].count == 3);

  // A day after the first: the one kind seen since is mailed again.
  f.clock += 24h;
  {
    MessageSampler sampler(*f.store, *f.store, f.broker, f.link, f.audit, f.options());
    sampler.report();
    CHECK(sampler.figures().mails_queued == 2);
  }
  mails = f.outbox();
  REQUIRE(mails.size() == 6);
  CHECK(mails[4].subject.find("(not-json)") != std::string::npos);
  CHECK(mails[4].body.find("1 broke this rule since the last mail") != std::string::npos);
}

TEST_CASE("message sampler: a store that fails keeps the counts for the next report") {
  Fixture f;
  FlakySampleStore flaky(*f.store);
  MessageSampler sampler(*f.store, flaky, f.broker, f.link, f.audit, f.options());
  sampler.refresh();
  f.link.publish("exchange/bob/b", json("x", "{}"));
  CHECK(pump_until(sampler, 1) == 1);
  flaky.failing = true;
  CHECK_THROWS_AS(sampler.report(), StoreError);
  f.link.publish("exchange/bob/b", json("x", "{}"));
  CHECK(pump_until(sampler, 1) == 1);
  flaky.failing = false;
  sampler.report();
  CHECK(f.store->exchange_sample(ResourceKey{"/", "exchange/bob/b"})->inspected == 2);
}

TEST_CASE("message sampler: samples only while its guardian leads") {
  Fixture f;
  bool lead = true;
  SamplerOptions options = f.options();
  options.lead = [&] { return lead; };
  MessageSampler sampler(*f.store, *f.store, f.broker, f.link, f.audit, options);
  sampler.refresh();
  CHECK(f.link.subscriptions().size() == 2);
  lead = false;
  sampler.refresh();
  CHECK(f.link.subscriptions().empty());
  CHECK(f.link.log.back() == "close");
  lead = true;
  sampler.refresh();
  CHECK(f.link.subscriptions().size() == 2);
}

TEST_CASE(
    "message sampler: a lost connection is reported once and followed again after a back-off" *
    doctest::test_suite("threaded")) {
  Fixture f;
  SamplerOptions options = f.options();
  options.refresh = 50ms;
  options.report = 50ms;
  std::mutex said_mutex;
  std::vector<std::string> said;
  options.say = [&](const std::string& line) {
    std::lock_guard lock(said_mutex);
    said.push_back(line);
  };
  MessageSampler sampler(*f.store, *f.store, f.broker, f.link, f.audit, options);
  f.link.failures_left = 2;  // lost, then lost again after the first retry
  std::thread loop([&] { sampler.run(); });
  // The first retry after a second, the second two seconds later.
  bool back = testing::eventually(
      [&] { return f.link.subscribe_count() >= 6 && sampler.figures().connected.load(); }, 20s);
  bool inspected = false;
  if (back) {
    f.link.publish("exchange/bob/b", json("x", "{}"));
    inspected = testing::eventually([&] { return sampler.figures().inspected >= 1; }, 10s);
  }
  // Back once it held for an interval (50 ms here).
  bool said_back = testing::eventually(
      [&] {
        std::lock_guard lock(said_mutex);
        return count_lines(said, "connected again") > 0;
      },
      10s);
  sampler.stop();
  loop.join();
  CHECK(back);
  CHECK(inspected);
  CHECK(said_back);
  CHECK(sampler.figures().connection_losses == 1);
  std::lock_guard lock(said_mutex);
  CHECK(count_lines(said, "fake link: connection reset; reconnecting") == 1);
  CHECK(count_lines(said, "connected again, sampling 2 exchanges") == 1);
}

}  // namespace authsvc
