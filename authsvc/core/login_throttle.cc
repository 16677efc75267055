#include "authsvc/core/login_throttle.h"

namespace authsvc {

LoginThrottle::LoginThrottle(LoginThrottleOptions options, std::function<Clock::time_point()> now)
    : options_(options), now_(std::move(now)) {}

LoginThrottle::Shard& LoginThrottle::shard_for(std::string_view user) {
  return shards_[std::hash<std::string_view>{}(user) % kShards];
}

bool LoginThrottle::throttled(std::string_view user) {
  if (options_.max_failures == 0) return false;
  Shard& shard = shard_for(user);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(std::string(user));
  return it != shard.entries.end() && now_() < it->second.throttled_until;
}

std::size_t LoginThrottle::tracked_names() {
  std::size_t n = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.entries.size();
  }
  return n;
}

void LoginThrottle::make_room(Shard& shard, Clock::time_point now) {
  for (auto it = shard.entries.begin(); it != shard.entries.end();) {
    bool over =
        now >= it->second.throttled_until && now - it->second.window_start >= options_.window;
    it = over ? shard.entries.erase(it) : std::next(it);
  }
}

void LoginThrottle::record(std::string_view user, bool success) {
  if (options_.max_failures == 0) return;
  Shard& shard = shard_for(user);
  Clock::time_point now = now_();
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(std::string(user));
  if (success) {
    // A good login forgives earlier typos, but only outside a cool-off:
    // record() is not called for throttled attempts.
    if (it != shard.entries.end()) shard.entries.erase(it);
    return;
  }
  if (it == shard.entries.end()) {
    std::size_t per_shard = options_.max_names / kShards + 1;
    if (shard.entries.size() >= per_shard) make_room(shard, now);
    if (shard.entries.size() >= per_shard) return;
    it = shard.entries.emplace(std::string(user), Entry{0, now, {}}).first;
  }
  Entry& entry = it->second;
  if (now - entry.window_start >= options_.window) {
    entry.failures = 0;
    entry.window_start = now;
  }
  if (++entry.failures >= options_.max_failures) {
    entry.throttled_until = now + options_.cooloff;
    entry.failures = 0;
    entry.window_start = now;
  }
}

}  // namespace authsvc
