#include "authsvc/guardian/queue_growth.h"

#include <cmath>
#include <set>

namespace authsvc {

void QueueGrowth::record(const std::vector<QueueInfo>& queues,
                         std::chrono::system_clock::time_point now) {
  std::set<ResourceKey> listed;
  for (const QueueInfo& q : queues) {
    ResourceKey key{q.vhost, q.name};
    listed.insert(key);
    if (!q.messages) continue;
    std::deque<Size>& sizes = sizes_[key];
    sizes.push_back(Size{now, *q.messages});
    while (sizes.size() > 2 && now - sizes.front().at > window_) sizes.pop_front();
  }
  for (auto it = sizes_.begin(); it != sizes_.end();) {
    it = listed.contains(it->first) ? std::next(it) : sizes_.erase(it);
  }
}

std::map<ResourceKey, QueueGrowthRate> QueueGrowth::rates() const {
  std::map<ResourceKey, QueueGrowthRate> out;
  for (const auto& [key, sizes] : sizes_) {
    if (sizes.size() < 2) continue;
    auto span =
        std::chrono::duration_cast<std::chrono::seconds>(sizes.back().at - sizes.front().at);
    if (span < std::chrono::seconds(1)) continue;
    double minutes = std::chrono::duration<double>(span).count() / 60.0;
    out[key] = QueueGrowthRate{
        static_cast<double>(sizes.back().messages - sizes.front().messages) / minutes, span};
  }
  return out;
}

std::optional<std::chrono::seconds> time_to_reach(std::int64_t messages, std::int64_t target,
                                                  double per_minute) {
  if (per_minute <= 0 || messages >= target) return std::nullopt;
  double minutes = static_cast<double>(target - messages) / per_minute;
  return std::chrono::seconds(static_cast<std::int64_t>(std::ceil(minutes * 60.0)));
}

}  // namespace authsvc
