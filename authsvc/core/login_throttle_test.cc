#include "authsvc/core/login_throttle.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_CASE("five failures in a minute throttle the name for the cool-off, then it ends") {
  LoginThrottle::Clock::time_point now{};
  LoginThrottle throttle(LoginThrottleOptions{}, [&] { return now; });
  for (int i = 0; i < 4; ++i) {
    throttle.record("alice", false);
    now += std::chrono::seconds(1);
  }
  CHECK_FALSE(throttle.throttled("alice"));
  throttle.record("alice", false);
  CHECK(throttle.throttled("alice"));
  CHECK_FALSE(throttle.throttled("bob"));  // per name
  now += std::chrono::seconds(59);
  CHECK(throttle.throttled("alice"));
  now += std::chrono::seconds(1);
  CHECK_FALSE(throttle.throttled("alice"));
}

TEST_CASE("failures spread beyond the window do not add up, and a success forgives") {
  LoginThrottle::Clock::time_point now{};
  LoginThrottle throttle(LoginThrottleOptions{}, [&] { return now; });
  for (int i = 0; i < 10; ++i) {
    throttle.record("alice", false);
    now += std::chrono::seconds(20);  // 3 a minute
    if (i % 3 == 2) now += std::chrono::seconds(1);
  }
  CHECK_FALSE(throttle.throttled("alice"));
  for (int i = 0; i < 4; ++i) throttle.record("bob", false);
  throttle.record("bob", true);
  for (int i = 0; i < 4; ++i) throttle.record("bob", false);
  CHECK_FALSE(throttle.throttled("bob"));
}

TEST_CASE("throttling off, and a bounded number of tracked names") {
  LoginThrottle off(LoginThrottleOptions{0, std::chrono::seconds(60), std::chrono::seconds(60)});
  for (int i = 0; i < 100; ++i) off.record("alice", false);
  CHECK_FALSE(off.throttled("alice"));

  LoginThrottle::Clock::time_point now{};
  LoginThrottleOptions small;
  small.max_names = 16;  // one per shard
  LoginThrottle bounded(small, [&] { return now; });
  for (int i = 0; i < 10000; ++i) bounded.record("user" + std::to_string(i), false);
  // Full, and no fuller: 16 names and the rounding up of each shard's share.
  CHECK(bounded.tracked_names() >= small.max_names);
  CHECK(bounded.tracked_names() <= small.max_names + 16);
  // Still works for a name it tracks once the old entries' windows end.
  now += std::chrono::seconds(61);
  for (int i = 0; i < 5; ++i) bounded.record("target", false);
  CHECK(bounded.throttled("target"));
  CHECK(bounded.tracked_names() <= small.max_names + 16);
}

}  // namespace authsvc
