#pragma once
// Keeps the served snapshot in step with the database. A thread polls the
// store's data_version a few times a second; when another process (the CLI)
// has committed, it builds a new Snapshot (from the users the new audit
// events name, or from all users), swaps it in, and copies the new
// user-management events into the audit log.
//
// If the database cannot be read, the server keeps answering from the last
// good snapshot and says so on stderr at most once a minute; each later poll
// reopens the database, and the first that succeeds reloads every user and
// says so.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "authsvc/core/report_limiter.h"
#include "authsvc/core/snapshot_source.h"
#include "authsvc/server/audit_log.h"
#include "authsvc/store/store.h"

namespace authsvc {

class StoreWatcher {
 public:
  // Loads the first snapshot into `source` before returning; throws
  // (StoreError, SQLite errors) if it cannot, so a server never starts
  // without one.
  StoreWatcher(Store& store, std::shared_ptr<const Rules> rules, SnapshotSource& source,
               AuditLog& audit, std::chrono::milliseconds interval);
  ~StoreWatcher();  // stops the thread

  // A snapshot of the store as it is now, with `rules`.
  static std::shared_ptr<const Snapshot> load(Store& store, std::shared_ptr<const Rules> rules,
                                              std::int64_t* last_event_id = nullptr);

  void start();
  void stop();
  // One poll: reloads if the database changed. Returns whether it did;
  // errors are reported (rate-limited), never thrown.
  bool poll_once();

 private:
  bool refresh();
  void mark_exported();
  void run();

  Store& store_;
  std::shared_ptr<const Rules> rules_;
  SnapshotSource& source_;
  AuditLog& audit_;
  std::chrono::milliseconds interval_;
  static constexpr std::size_t kMaxChangedUsers = 1024;
  std::int64_t seen_version_ = -1;
  std::int64_t last_event_id_ = 0;
  bool failing_ = false;
  // A commit without a user event, not yet covered by a full reload.
  bool unexplained_change_ = false;
  // CLI events appended to the audit log, and those known to be on disk.
  std::int64_t appended_event_id_ = 0;
  std::int64_t exported_event_id_ = 0;
  std::chrono::steady_clock::time_point last_full_load_;
  ReportLimiter error_reports_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace authsvc
