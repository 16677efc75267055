#pragma once
// Where request threads get the current Snapshot. A writer swaps in a whole
// new snapshot; no reader ever sees a half-built one, and an old one lives
// until its last reader lets go.
//
// Readers do not touch the shared pointer on every request: each thread
// keeps its own reference and only takes a new one when the version
// counter moved. Copying one shared_ptr from all threads for every request
// made them fight over its reference count.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "authsvc/core/snapshot.h"

namespace authsvc {

class SnapshotSource {
 public:
  SnapshotSource() = default;
  explicit SnapshotSource(std::shared_ptr<const Snapshot> initial) { replace(std::move(initial)); }

  // The current snapshot (null until the first is in). Costs one relaxed
  // atomic load while nothing changed.
  std::shared_ptr<const Snapshot> current() const;
  // For a request's duration: the snapshot, held by this thread's cache
  // until the next call from this thread that sees a newer version.
  const Snapshot* current_for_this_thread() const;

  void replace(std::shared_ptr<const Snapshot> next);

 private:
  mutable std::mutex mutex_;  // guards current_ for writers and cache misses
  std::shared_ptr<const Snapshot> current_;
  std::atomic<std::uint64_t> version_{0};
  // Distinguishes sources in the per-thread cache (tests run several).
  const std::uint64_t id_ = next_id_.fetch_add(1);
  static inline std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace authsvc
