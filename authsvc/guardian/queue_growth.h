#pragma once
// How fast each queue grows: its sizes at the guardian's recent looks, so
// that a warning can say when, at that pace, the queue reaches its
// deletion threshold. In memory: a restart starts over, and the first
// warning after it says nothing of the pace. Pure: the looks' times are
// given.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "authsvc/guardian/broker_records.h"
#include "authsvc/store/records.h"

namespace authsvc {

struct QueueGrowthRate {
  double per_minute = 0;         // messages a minute; negative while it shrinks
  std::chrono::seconds over{0};  // the span it was measured over
};

class QueueGrowth {
 public:
  // Sizes older than `window` are forgotten: the pace is the recent one.
  explicit QueueGrowth(std::chrono::seconds window = std::chrono::minutes(10)) : window_(window) {}

  // The sizes at the look at `now`. A queue whose size the broker does not
  // report is skipped; one no longer listed is forgotten.
  void record(const std::vector<QueueInfo>& queues, std::chrono::system_clock::time_point now);
  // Each queue with two sizes at least a second apart: from its oldest
  // size kept to its latest.
  std::map<ResourceKey, QueueGrowthRate> rates() const;

 private:
  struct Size {
    std::chrono::system_clock::time_point at;
    std::int64_t messages;
  };
  std::chrono::seconds window_;
  std::map<ResourceKey, std::deque<Size>> sizes_;
};

// How long a queue of `messages` takes to reach `target` at `per_minute`;
// nullopt if it does not grow, or is there already.
std::optional<std::chrono::seconds> time_to_reach(std::int64_t messages, std::int64_t target,
                                                  double per_minute);

}  // namespace authsvc
