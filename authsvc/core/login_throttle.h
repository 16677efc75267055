#pragma once
// Slows down token guessing: after `max_failures` failed logins for one
// user name within `window`, every login for that name is refused for
// `cooloff`, without looking at the token, and audited as "throttled". A
// correct token does not end the cool-off early: otherwise a guesser would
// learn from the answer when it found the token.
//
// Keyed by user name only, on purpose: the broker does not tell us the
// client's address at login. So failing logins on purpose can lock a user
// out for the cool-off; the defaults keep that short.
//
// State is in memory, per process, and bounded: at most `max_names` names
// are tracked; past that, entries whose window ended are dropped first, and
// if none has, new names go untracked (fail open on counting only: each
// token is still checked).

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace authsvc {

struct LoginThrottleOptions {
  unsigned max_failures = 5;  // 0 turns throttling off
  std::chrono::seconds window{60};
  std::chrono::seconds cooloff{60};
  std::size_t max_names = 100'000;
};

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LoginThrottle(LoginThrottleOptions options,
                         std::function<Clock::time_point()> now = Clock::now);

  // Whether logins for `user` are refused right now.
  bool throttled(std::string_view user);
  // Records the outcome of a login whose token was checked.
  void record(std::string_view user, bool success);
  // How many names are tracked now: at most max_names, plus at most one per
  // shard from rounding up each shard's share (for the tests).
  std::size_t tracked_names();

 private:
  struct Entry {
    unsigned failures = 0;
    Clock::time_point window_start;
    Clock::time_point throttled_until;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
  };
  Shard& shard_for(std::string_view user);
  void make_room(Shard& shard, Clock::time_point now);

  LoginThrottleOptions options_;
  std::function<Clock::time_point()> now_;
  static constexpr std::size_t kShards = 16;
  Shard shards_[kShards];
};

}  // namespace authsvc
