#pragma once
// A lead (store/lead_lock.h) as a process holds it: asked before the work
// only the lead may do, and every change said once, when it is seen:
//   - taken: an audit line (action "lead taken", the lead's name in the
//     detail) and a line on stderr;
//   - lost: the same ("lead lost", with the reason when a failure lost
//     it), then standing by;
//   - standing by from the start (another node holds it): a line on
//     stderr only, since nothing changed.
// What it decides (lead_change()) is pure; the lock and the lines are its
// edges.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "authsvc/core/audit_sink.h"
#include "authsvc/store/lead_lock.h"

namespace authsvc {

enum class LeadChange { none, taken, lost, standing_by };

// What a check that finds `holds_now` means after `before` (nullopt: the
// first check).
LeadChange lead_change(std::optional<bool> before, bool holds_now);

class Lead {
 public:
  // `actor` names the process in its audit lines ("guardian", "serve"),
  // `program` on stderr ("authsvc guardian", "authsvc").
  Lead(std::unique_ptr<LeadLock> lock, LeadKind kind, std::string actor, std::string program,
       AuditSink& audit);

  // Whether this process holds the lead now: asks the lock (one query on
  // PostgreSQL), and says so if that changed. One thread at a time.
  bool check();
  // What the last check() found, from any thread.
  bool held() const { return held_.load(std::memory_order_relaxed); }
  // How often it was taken, from any thread.
  std::uint64_t times_taken() const { return taken_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<LeadLock> lock_;
  LeadKind kind_;
  std::string actor_;
  std::string program_;
  AuditSink& audit_;
  std::optional<bool> before_;
  std::atomic<bool> held_{false};
  std::atomic<std::uint64_t> taken_{0};
};

}  // namespace authsvc
