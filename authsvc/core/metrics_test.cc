#include "authsvc/core/metrics.h"

#include <doctest/doctest.h>

#include <thread>

namespace authsvc {

TEST_CASE("the exposition has HELP and TYPE once a family, then its samples in order") {
  MetricsRegistry registry;
  Counter& sent = registry.counter("authsvc_mails_sent_total", "Mails sent.");
  registry.add("authsvc_queue_messages", MetricsRegistry::Type::gauge, "Messages.",
               {{"queue", "queue/alice/q"}}, [] { return 25.0; });
  registry.add("authsvc_queue_messages", MetricsRegistry::Type::gauge, "Messages.",
               {{"queue", "a\"b\\c\nd"}}, [] { return 0.5; });
  sent.add(3);
  CHECK(registry.exposition() ==
        "# HELP authsvc_mails_sent_total Mails sent.\n"
        "# TYPE authsvc_mails_sent_total counter\n"
        "authsvc_mails_sent_total 3\n"
        "# HELP authsvc_queue_messages Messages.\n"
        "# TYPE authsvc_queue_messages gauge\n"
        "authsvc_queue_messages{queue=\"queue/alice/q\"} 25\n"
        "authsvc_queue_messages{queue=\"a\\\"b\\\\c\\nd\"} 0.5\n");
}

TEST_CASE("a name registered again with another type is a programming error") {
  MetricsRegistry registry;
  registry.counter("authsvc_x_total", "X.");
  CHECK_THROWS_AS(
      registry.add("authsvc_x_total", MetricsRegistry::Type::gauge, "X.", {}, [] { return 1.0; }),
      std::logic_error);
}

TEST_CASE("a histogram's buckets are cumulative, inclusive, and end in +Inf") {
  Histogram h({10, 100, 1000}, 0.001);
  for (std::uint64_t v : {0, 10, 11, 100, 5000}) h.observe(v);
  MetricsRegistry registry;
  registry.add("authsvc_t_seconds", "T.", {{"endpoint", "user"}}, h);
  CHECK(registry.exposition() ==
        "# HELP authsvc_t_seconds T.\n"
        "# TYPE authsvc_t_seconds histogram\n"
        "authsvc_t_seconds_bucket{endpoint=\"user\",le=\"0.01\"} 2\n"
        "authsvc_t_seconds_bucket{endpoint=\"user\",le=\"0.1\"} 4\n"
        "authsvc_t_seconds_bucket{endpoint=\"user\",le=\"1\"} 4\n"
        "authsvc_t_seconds_bucket{endpoint=\"user\",le=\"+Inf\"} 5\n"
        "authsvc_t_seconds_sum{endpoint=\"user\"} 5.121\n"
        "authsvc_t_seconds_count{endpoint=\"user\"} 5\n");
}

TEST_CASE("histogram bounds must ascend and fit") {
  CHECK_THROWS_AS(Histogram({10, 10}), std::invalid_argument);
  CHECK_THROWS_AS(Histogram(std::vector<std::uint64_t>(Histogram::kMaxBuckets + 1, 1)),
                  std::invalid_argument);
}

TEST_CASE("request durations resolve 10 microseconds to 100 milliseconds") {
  std::vector<std::uint64_t> bounds = request_duration_bounds_ns();
  CHECK(bounds.front() == 10'000);
  CHECK(bounds.back() == 100'000'000);
  CHECK(bounds.size() == 13);
}

TEST_CASE("a counter family counts by label values, and bounds how many sets it keeps") {
  CounterFamily family({"action", "result"}, 3);
  family.add({"sign-in", "ok"});
  family.add({"sign-in", "ok"});
  family.add({"sign-in", "denied"});
  family.add({"account create", "ok"});  // the third set: "other"
  family.add({"account delete", "ok"});
  CHECK(family.value({"sign-in", "ok"}) == 2);
  CHECK(family.value({"account create", "ok"}) == 0);
  CHECK(family.value({"other", "other"}) == 2);
  MetricsRegistry registry;
  family.register_in(registry, "authsvc_web_actions_total", "Actions.");
  CHECK(registry.exposition() ==
        "# HELP authsvc_web_actions_total Actions.\n"
        "# TYPE authsvc_web_actions_total counter\n"
        "authsvc_web_actions_total{action=\"sign-in\",result=\"ok\"} 2\n"
        "authsvc_web_actions_total{action=\"sign-in\",result=\"denied\"} 1\n"
        "authsvc_web_actions_total{action=\"other\",result=\"other\"} 2\n");
}

TEST_SUITE_BEGIN("threaded");

TEST_CASE("counters and histograms count every increment from several threads") {
  MetricsRegistry registry;
  Counter& c = registry.counter("authsvc_c_total", "C.");
  Histogram h(request_duration_bounds_ns());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.add();
        h.observe(static_cast<std::uint64_t>(i));
      }
    });
  }
  // Scraping while they count is safe (and sees a count in between).
  std::string during = registry.exposition();
  for (auto& t : threads) t.join();
  CHECK(during.find("authsvc_c_total ") != std::string::npos);
  CHECK(c.value() == 40000);
  CHECK(h.read().count == 40000);
  CHECK(h.read().cumulative.front().second == 40000);  // all under 10 µs
}

TEST_SUITE_END();

}  // namespace authsvc
