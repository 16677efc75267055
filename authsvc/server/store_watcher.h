#pragma once
// Keeps the served snapshot in step with the database. A thread waits for
// the store to announce a change (PostgreSQL's NOTIFY wakes it at once;
// SQLite cannot tell, so there the wait is the interval, and the thread
// polls its data_version), or for the interval to pass; then, when another
// process (the CLI) has committed, it builds a new Snapshot (from the users
// the new audit events name, or from all users), swaps it in, and copies
// the new user-management events into the audit log: if it is the exporter,
// the holder of the store's audit export lead, when several servers share
// the store (export_lead; lead.h). The others leave them to it.
//
// If the database cannot be read, the server keeps answering from the last
// good snapshot and says so on stderr when it notices, then at most once a
// minute; it reopens the database after 250 ms, then after twice as long
// each time, up to every 5 s (retry_delay), and the first reopen that
// succeeds reloads every user and says so.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "authsvc/core/report_limiter.h"
#include "authsvc/core/snapshot_source.h"
#include "authsvc/server/audit_log.h"
#include "authsvc/store/store.h"
#include "authsvc/store/wake_signal.h"

namespace authsvc {

// How long the watcher waits before its `failures`-th attempt in a row to
// reopen the database (failures >= 1): 250 ms, doubling, at most 5 s, so
// that a node is back within 5 s of its database, and a hundred nodes do not
// hammer a database that is starting.
std::chrono::milliseconds retry_delay(int failures);

// The safety net under the change notices: every user is reloaded at least
// this often, whatever the store announced. A NOTIFY is lost with the
// connection it was on, and an edit made by hand in psql announces nothing.
inline constexpr std::chrono::minutes kFullReloadPeriod{5};

class StoreWatcher {
 public:
  // Loads the first snapshot into `source` before returning; throws
  // (StoreError, SQLite errors) if it cannot, so a server never starts
  // without one. `interval`: how long the thread waits for a change
  // notice before it polls anyway. The thread is the only user of `store`
  // once started. `export_lead` says whether this server copies the
  // store's events into its audit log now, asked only when there are
  // events to copy; empty: it always does (one server).
  StoreWatcher(Store& store, std::shared_ptr<const Rules> rules, SnapshotSource& source,
               AuditLog& audit, std::chrono::milliseconds interval,
               std::function<bool()> export_lead = {});
  ~StoreWatcher();  // stops the thread

  // A snapshot of the store as it is now, with `rules`.
  static std::shared_ptr<const Snapshot> load(Store& store, std::shared_ptr<const Rules> rules,
                                              std::int64_t* last_event_id = nullptr);

  void start();
  void stop();
  // One poll: reloads if the database changed. Returns whether it did;
  // errors are reported (rate-limited), never thrown.
  bool poll_once();

  // For metrics and readiness, read from any thread.
  struct Figures {
    std::uint64_t full_reloads = 0;
    std::uint64_t partial_reloads = 0;  // only the users that changed
    std::uint64_t errors = 0;           // polls that could not read the database
    // The last poll that read the database without error: the snapshot is
    // known current as of then.
    std::chrono::steady_clock::time_point last_read;
    // Whether the last poll could read the database; if not, since when it
    // cannot (the first failed poll), and why (the last error's message).
    bool reachable = true;
    std::chrono::steady_clock::time_point unreachable_since;
    std::string error;
    // Reopens that succeeded after the database could not be read.
    std::uint64_t reconnects = 0;
  };
  Figures figures() const;

 private:
  bool refresh();
  void export_events();
  // At a poll that did not reload: the events left to the exporter, if
  // any, until they are gone (the exporter may have died), then the mark.
  void export_pending();
  void mark_exported();
  void mark_read();
  void run();

  Store& store_;
  std::shared_ptr<const Rules> rules_;
  SnapshotSource& source_;
  AuditLog& audit_;
  std::chrono::milliseconds interval_;
  std::function<bool()> export_lead_;
  static constexpr std::size_t kMaxChangedUsers = 1024;
  std::int64_t seen_version_ = -1;
  std::int64_t last_event_id_ = 0;
  bool failing_ = false;
  int failures_ = 0;  // polls in a row that failed
  // A commit without a user event, not yet covered by a full reload.
  bool unexplained_change_ = false;
  // CLI events appended to the audit log, and those known to be on disk.
  std::int64_t appended_event_id_ = 0;
  std::int64_t exported_event_id_ = 0;
  // Events were there to copy, and another server held the export lead.
  bool left_to_exporter_ = false;
  std::chrono::steady_clock::time_point last_full_load_;
  ReportLimiter error_reports_;

  std::atomic<std::uint64_t> full_reloads_{0};
  std::atomic<std::uint64_t> partial_reloads_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::chrono::steady_clock::rep> last_read_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  // 0 while the database is reachable.
  std::atomic<std::chrono::steady_clock::rep> unreachable_since_{0};
  mutable std::mutex error_mutex_;
  std::string error_;  // under error_mutex_

  // Raised by stop(): ends the thread's wait at once.
  WakeSignal wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace authsvc
