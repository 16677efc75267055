#include "authsvc/core/report_limiter.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_CASE("a lasting fault is reported at once, then once per period, and again after a reset") {
  ReportLimiter limiter(std::chrono::minutes(1));
  // Early in the clock's life too: a steady clock may start near zero.
  auto t0 = ReportLimiter::Clock::time_point{} + std::chrono::seconds(3);
  CHECK(limiter.should_report(t0));
  CHECK_FALSE(limiter.should_report(t0 + std::chrono::seconds(1)));
  CHECK_FALSE(limiter.should_report(t0 + std::chrono::seconds(59)));
  CHECK(limiter.should_report(t0 + std::chrono::seconds(60)));
  CHECK_FALSE(limiter.should_report(t0 + std::chrono::seconds(61)));
  limiter.reset();
  CHECK(limiter.should_report(t0 + std::chrono::seconds(62)));
  CHECK(ReportLimiter().should_report());
}

}  // namespace authsvc
