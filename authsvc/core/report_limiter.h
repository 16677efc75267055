#pragma once
// Rate-limits the report of a lasting fault (a full disk, an unreadable
// database): the first occurrence is reported, then at most one per period,
// so an operator hears of it without stderr being flooded.

#include <chrono>
#include <optional>

namespace authsvc {

class ReportLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ReportLimiter(Clock::duration period = std::chrono::minutes(1)) : period_(period) {}

  // Whether to report now; if so, the period starts again.
  bool should_report(Clock::time_point now = Clock::now());
  // The fault is over: the next one is reported at once.
  void reset() { last_.reset(); }

 private:
  Clock::duration period_;
  // Not a time_point::min() sentinel: `now - min()` overflows, and the first
  // fault then went unreported.
  std::optional<Clock::time_point> last_;
};

}  // namespace authsvc
