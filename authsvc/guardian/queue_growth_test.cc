#include "authsvc/guardian/queue_growth.h"

#include <doctest/doctest.h>

namespace authsvc {
namespace {

using namespace std::chrono_literals;

QueueInfo sized(const std::string& name, std::optional<std::int64_t> messages) {
  // Whole: GCC 12 takes `q.vhost = "/"` here for an overlapping memcpy
  // (a -Wrestrict false positive).
  return QueueInfo{"/", name, messages, std::nullopt, false, false, false,
                   {},  {},   {},       {},           {},    {},    {}};
}

const std::chrono::system_clock::time_point t0{std::chrono::hours(24 * 20000)};

}  // namespace

TEST_CASE("queue growth: the pace from the oldest size kept to the latest") {
  QueueGrowth growth(10min);
  growth.record({sized("queue/a/q", 100), sized("queue/a/shrinks", 500)}, t0);
  CHECK(growth.rates().empty());  // one size: no pace yet
  growth.record({sized("queue/a/q", 130), sized("queue/a/shrinks", 480)}, t0 + 30s);
  growth.record({sized("queue/a/q", 160), sized("queue/a/shrinks", 440)}, t0 + 60s);
  std::map<ResourceKey, QueueGrowthRate> rates = growth.rates();
  REQUIRE(rates.size() == 2);
  CHECK(rates[ResourceKey{"/", "queue/a/q"}].per_minute == doctest::Approx(60));
  CHECK(rates[ResourceKey{"/", "queue/a/q"}].over == 60s);
  CHECK(rates[ResourceKey{"/", "queue/a/shrinks"}].per_minute == doctest::Approx(-60));

  // Sizes past the window go; the two latest always stay.
  growth.record({sized("queue/a/q", 160)}, t0 + 11min);
  rates = growth.rates();
  CHECK(rates.size() == 1);  // the shrinking one is no longer listed: forgotten
  CHECK(rates[ResourceKey{"/", "queue/a/q"}].per_minute == doctest::Approx(0));
  CHECK(rates[ResourceKey{"/", "queue/a/q"}].over == 10min);
  growth.record({sized("queue/a/q", 460)}, t0 + 16min);
  rates = growth.rates();
  CHECK(rates[ResourceKey{"/", "queue/a/q"}].over == 5min);
  CHECK(rates[ResourceKey{"/", "queue/a/q"}].per_minute == doctest::Approx(60));
}

TEST_CASE("queue growth: unknown sizes and looks under a second apart give no pace") {
  QueueGrowth growth;
  growth.record({sized("queue/a/q", std::nullopt)}, t0);
  growth.record({sized("queue/a/q", std::nullopt)}, t0 + 10s);
  CHECK(growth.rates().empty());
  growth.record({sized("queue/a/q", 5)}, t0 + 20s);
  growth.record({sized("queue/a/q", 9)}, t0 + 20s + 500ms);
  CHECK(growth.rates().empty());
}

TEST_CASE("queue growth: when a queue reaches a threshold at its pace") {
  CHECK(time_to_reach(160, 400, 60) == std::chrono::seconds(240));
  CHECK(time_to_reach(160, 161, 7) == std::chrono::seconds(9));  // rounded up
  CHECK_FALSE(time_to_reach(160, 400, 0).has_value());
  CHECK_FALSE(time_to_reach(160, 400, -5).has_value());
  CHECK_FALSE(time_to_reach(400, 400, 60).has_value());
}

}  // namespace authsvc
