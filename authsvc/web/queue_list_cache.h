#pragma once
// The broker's queue list as the web last read it. Every queue page needs
// the whole list (one management API call, a large answer on a broker of
// thousands of queues), and the call runs on a listener thread: while the
// broker is slow or down, each page view would hold a thread for the API's
// whole timeout. So a list is reused for `fresh_for`, a failure is
// remembered for `retry_after` (pages say "unavailable" at once meanwhile),
// and one fetch runs at a time: the others wait for it and share its result.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "authsvc/guardian/broker_records.h"

namespace authsvc {

class QueueListCache {
 public:
  using Clock = std::chrono::system_clock;
  // Ages are measured on `clock`, read when a fetch ends: a failure after
  // a long timeout is remembered from when it was known.
  QueueListCache(std::chrono::milliseconds fresh_for, std::chrono::milliseconds retry_after,
                 std::function<Clock::time_point()> clock)
      : fresh_for_(fresh_for), retry_after_(retry_after), clock_(std::move(clock)) {}

  // The list, fetched with `fetch` unless a recent one (or a recent
  // failure, thrown again as an Error) is at hand.
  std::vector<QueueInfo> get(const std::function<std::vector<QueueInfo>()>& fetch);
  // The broker changed (a queue was deleted here): the next get fetches.
  void forget();

 private:
  const std::chrono::milliseconds fresh_for_;
  const std::chrono::milliseconds retry_after_;
  const std::function<Clock::time_point()> clock_;
  std::mutex mutex_;
  std::optional<Clock::time_point> fetched_at_;
  std::vector<QueueInfo> queues_;
  std::string failure_;  // the last fetch's error; "" if it succeeded
};

}  // namespace authsvc
