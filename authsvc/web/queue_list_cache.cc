#include "authsvc/web/queue_list_cache.h"

#include "authsvc/core/error.h"

namespace authsvc {

std::vector<QueueInfo> QueueListCache::get(const std::function<std::vector<QueueInfo>()>& fetch) {
  // Held across the fetch: whoever waits gets this fetch's result, rather
  // than asking a slow broker once more.
  std::lock_guard lock(mutex_);
  const Clock::time_point now = clock_();
  if (fetched_at_ && now >= *fetched_at_) {
    if (failure_.empty() && now - *fetched_at_ < fresh_for_) return queues_;
    if (!failure_.empty() && now - *fetched_at_ < retry_after_) throw Error(failure_);
  }
  try {
    queues_ = fetch();
    failure_.clear();
  } catch (const Error& e) {
    queues_.clear();
    failure_ = e.what();
    fetched_at_ = clock_();
    throw;
  }
  fetched_at_ = clock_();
  return queues_;
}

void QueueListCache::forget() {
  std::lock_guard lock(mutex_);
  fetched_at_.reset();
}

}  // namespace authsvc
