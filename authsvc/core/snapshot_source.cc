#include "authsvc/core/snapshot_source.h"

namespace authsvc {
namespace {

struct ThreadCache {
  std::uint64_t source_id = 0;
  std::uint64_t version = 0;
  std::shared_ptr<const Snapshot> snapshot;
};

thread_local ThreadCache cache;

}  // namespace

std::shared_ptr<const Snapshot> SnapshotSource::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

const Snapshot* SnapshotSource::current_for_this_thread() const {
  std::uint64_t version = version_.load(std::memory_order_acquire);
  if (cache.source_id != id_ || cache.version != version) {
    std::lock_guard lock(mutex_);
    cache.source_id = id_;
    cache.version = version_.load(std::memory_order_relaxed);
    cache.snapshot = current_;
  }
  return cache.snapshot.get();
}

void SnapshotSource::replace(std::shared_ptr<const Snapshot> next) {
  std::lock_guard lock(mutex_);
  current_ = std::move(next);
  version_.fetch_add(1, std::memory_order_release);
}

}  // namespace authsvc
