#include "authsvc/server/store_watcher.h"

#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>

#include "authsvc/core/audit_line.h"

namespace authsvc {

std::chrono::milliseconds retry_delay(int failures) {
  constexpr std::chrono::milliseconds kFirst{250};
  constexpr std::chrono::milliseconds kMost{5000};
  std::chrono::milliseconds delay = kFirst;
  for (int i = 1; i < failures && delay < kMost; ++i) delay *= 2;
  return std::min(delay, kMost);
}

StoreWatcher::StoreWatcher(Store& store, std::shared_ptr<const Rules> rules, SnapshotSource& source,
                           AuditLog& audit, std::chrono::milliseconds interval,
                           std::function<bool()> export_lead)
    : store_(store),
      rules_(std::move(rules)),
      source_(source),
      audit_(audit),
      interval_(interval),
      export_lead_(std::move(export_lead)) {
  refresh();
  mark_read();
}

StoreWatcher::~StoreWatcher() { stop(); }

StoreWatcher::Figures StoreWatcher::figures() const {
  Figures f;
  f.full_reloads = full_reloads_.load(std::memory_order_relaxed);
  f.partial_reloads = partial_reloads_.load(std::memory_order_relaxed);
  f.errors = errors_.load(std::memory_order_relaxed);
  f.last_read = std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(last_read_.load(std::memory_order_relaxed)));
  f.reconnects = reconnects_.load(std::memory_order_relaxed);
  std::chrono::steady_clock::rep since = unreachable_since_.load(std::memory_order_relaxed);
  f.reachable = since == 0;
  if (!f.reachable) {
    f.unreachable_since =
        std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(since));
    std::lock_guard lock(error_mutex_);
    f.error = error_;
  }
  return f;
}

void StoreWatcher::mark_read() {
  last_read_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                   std::memory_order_relaxed);
}

std::shared_ptr<const Snapshot> StoreWatcher::load(Store& store, std::shared_ptr<const Rules> rules,
                                                   std::int64_t* last_event_id) {
  return std::make_shared<const Snapshot>(store.load_users(last_event_id), std::move(rules));
}

void StoreWatcher::start() {
  thread_ = std::thread([this] { run(); });
}

void StoreWatcher::stop() {
  stopping_.store(true);
  wake_.raise();
  if (thread_.joinable()) thread_.join();
}

bool StoreWatcher::refresh() {
  // Read the version first: a commit that lands during the reload below
  // changes it again, so the next poll reloads once more.
  std::int64_t version = store_.data_version();
  auto now = std::chrono::steady_clock::now();
  bool minute_passed = now - last_full_load_ >= std::chrono::minutes(1);
  // kFullReloadPeriod's safety net: a full reload below, since a minute
  // has passed too.
  bool safety_due = now - last_full_load_ >= kFullReloadPeriod;
  if (version == seen_version_ && !(unexplained_change_ && minute_passed) && !safety_due) {
    return false;
  }
  // Changes made through the CLI each leave an audit event naming the user:
  // apply just those users to the current snapshot. Reloading all users
  // took a core's worth of CPU under steady CLI churn with 100,000 users
  // (p99 10 ms in the soak). A commit without a user event is the
  // guardian's own state (notices, its outbox), or an edit by hand: users
  // are reloaded for it at most once a minute, so the guardian's writes do
  // not each cost a full reload. A full reload also happens at start and
  // when many users changed.
  std::shared_ptr<const Snapshot> current = source_.current();
  bool reloaded = false;
  if (current && current->changed_count() < kMaxChangedUsers && !minute_passed) {
    std::int64_t last_event_id = 0;
    std::optional<std::vector<UserChange>> changes =
        store_.changed_users_since(last_event_id_, kMaxChangedUsers, last_event_id);
    if (changes && !changes->empty()) {
      source_.replace(std::make_shared<const Snapshot>(current, *changes));
      last_event_id_ = last_event_id;
      reloaded = true;
      partial_reloads_.fetch_add(1, std::memory_order_relaxed);
    } else if (changes) {
      unexplained_change_ = true;
      seen_version_ = version;
      return false;
    }
  }
  if (!reloaded) {
    source_.replace(load(store_, rules_, &last_event_id_));
    last_full_load_ = now;
    unexplained_change_ = false;
    full_reloads_.fetch_add(1, std::memory_order_relaxed);
    // The previous snapshot (tens of MB with 100,000 users) is freed once
    // its last reader lets go; without a trim glibc kept the freed pages,
    // and under steady CLI churn the process stayed at 124 MB.
    malloc_trim(0);
  }
  seen_version_ = version;
  export_events();
  mark_exported();
  return true;
}

void StoreWatcher::export_events() {
  // Only the events the snapshot now holds: one committed since the users
  // were read is written once the next poll has applied it, so that a
  // change is in effect by the time its audit line is there (what a reader
  // of the log, and the tests, rely on).
  while (true) {
    // After what this server wrote and after the store's mark: an exporter
    // that takes over from another goes on where that one's events were
    // known to be on disk.
    std::vector<AuditEvent> events = store_.unexported_audit_events(appended_event_id_);
    const std::size_t read = events.size();
    std::erase_if(events, [&](const AuditEvent& e) { return e.id > last_event_id_; });
    left_to_exporter_ = false;
    if (events.empty()) break;
    // Asked for each batch, right before writing it: a server that lost
    // the lead stops here, and the new exporter writes them.
    if (export_lead_ && !export_lead_()) {
      left_to_exporter_ = true;
      break;
    }
    for (const AuditEvent& event : events) audit_.append(to_json_line(event));
    appended_event_id_ = events.back().id;
    if (events.size() < read) break;
  }
}

void StoreWatcher::export_pending() {
  // Until the exporter has marked them: if it died first, this server
  // takes the lead (within a poll of the server ending its session) and
  // writes them, with no change to the data to wake it.
  if (left_to_exporter_) export_events();
  mark_exported();
}

void StoreWatcher::mark_exported() {
  // Only once the events are on disk: a crash in between repeats an event
  // rather than loses it (the next exporter writes it again, with the same
  // "event" number, which `authsvc audit` shows once). The store moves the
  // mark forward only, so a server that lost the lead may still mark what
  // it wrote. The wait is bounded: while the audit log cannot be
  // written (a full disk) the watcher must go on applying user changes, and
  // tries again at its next poll.
  if (appended_event_id_ <= exported_event_id_) return;
  if (!audit_.flush_for(std::chrono::seconds(1))) return;
  store_.mark_audit_events_exported(appended_event_id_);
  exported_event_id_ = appended_event_id_;
}

bool StoreWatcher::poll_once() {
  try {
    if (failing_) {
      store_.reopen();
      seen_version_ = -1;
      last_full_load_ = {};  // reload everything: changes may have been missed
    }
    bool reloaded = refresh();
    if (!reloaded) export_pending();
    if (failing_) {
      fmt::print(stderr, "authsvc: the database is readable again; users reloaded\n");
      failing_ = false;
      failures_ = 0;
      error_reports_.reset();
      reconnects_.fetch_add(1, std::memory_order_relaxed);
      unreachable_since_.store(0, std::memory_order_relaxed);
    }
    // Last: whoever sees the snapshot current (readiness) sees it reachable.
    mark_read();
    return reloaded;
  } catch (const std::exception& e) {
    if (!failing_) {
      // A clock's epoch is far behind now: 0 stays "reachable".
      unreachable_since_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                               std::memory_order_relaxed);
    }
    {
      std::lock_guard lock(error_mutex_);
      error_ = e.what();
    }
    failing_ = true;
    ++failures_;
    errors_.fetch_add(1, std::memory_order_relaxed);
    if (error_reports_.should_report()) {
      fmt::print(stderr,
                 "authsvc: cannot reload users ({}); still answering from the last good "
                 "snapshot\n",
                 e.what());
    }
    return false;
  }
}

void StoreWatcher::run() {
  while (!stopping_.load()) {
    poll_once();
    if (failing_) {
      // Not the store's wait: its connection is gone. Backing off keeps a
      // starting database from being hammered by every node at once.
      wake_.wait_for(retry_delay(failures_));
      continue;
    }
    try {
      store_.wait_for_change(interval_, wake_);
    } catch (const std::exception&) {
      // The connection was lost while waiting: the poll right after finds
      // the same, and reports it.
    }
  }
}

}  // namespace authsvc
