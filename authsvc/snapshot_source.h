#pragma once
// Where request threads get the current Snapshot. Readers take a reference
// with one atomic load and keep it for their request; a writer swaps in a
// whole new snapshot. No reader ever sees a half-built one, and an old one
// lives until its last reader lets go.

#include <atomic>
#include <memory>

#include "authsvc/snapshot.h"

namespace authsvc {

class SnapshotSource {
 public:
  SnapshotSource() = default;
  explicit SnapshotSource(std::shared_ptr<const Snapshot> initial) : current_(std::move(initial)) {}

  // Null until the first snapshot is in.
  std::shared_ptr<const Snapshot> current() const { return current_.load(); }
  void replace(std::shared_ptr<const Snapshot> next) { current_.store(std::move(next)); }

 private:
  std::atomic<std::shared_ptr<const Snapshot>> current_;
};

}  // namespace authsvc
