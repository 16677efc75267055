#pragma once
// Keeps the served snapshot in step with the database. A thread polls the
// store's data_version a few times a second; when another process (the CLI)
// has committed, it builds a new Snapshot (from the users the new audit
// events name, or from all users), swaps it in, and copies the new
// user-management events into the audit log: if it is the exporter, the
// holder of the store's audit export lead, when several servers share the
// store (export_lead; lead.h). The others leave them to it.
//
// If the database cannot be read, the server keeps answering from the last
// good snapshot and says so on stderr at most once a minute; each later poll
// reopens the database, and the first that succeeds reloads every user and
// says so.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
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
  // `export_lead` says whether this server copies the store's events into
  // its audit log now, asked only when there are events to copy; empty:
  // it always does (one server).
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

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace authsvc
