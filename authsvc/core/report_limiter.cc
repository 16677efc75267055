#include "authsvc/core/report_limiter.h"

namespace authsvc {

bool ReportLimiter::should_report(Clock::time_point now) {
  if (last_ && now - *last_ < period_) return false;
  last_ = now;
  return true;
}

}  // namespace authsvc
