#include "authsvc/server/serve_metrics.h"

#include <fmt/format.h>

#include "authsvc/core/timestamp.h"

namespace authsvc {
namespace {

double seconds_since(std::chrono::steady_clock::time_point then) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - then).count();
}

}  // namespace

void register_audit_metrics(MetricsRegistry& registry, const AuditLog& audit) {
  using Type = MetricsRegistry::Type;
  registry.add("authsvc_audit_lines_written_total", Type::counter,
               "Audit lines written to the audit log.", {},
               [&audit] { return static_cast<double>(audit.figures().written); });
  registry.add("authsvc_audit_lines_waiting", Type::gauge,
               "Audit lines appended and not yet written (the backlog).", {},
               [&audit] { return static_cast<double>(audit.figures().waiting); });
  registry.add("authsvc_audit_oldest_wait_seconds", Type::gauge,
               "How long the oldest waiting audit line has waited, at most.", {}, [&audit] {
                 return std::chrono::duration<double>(audit.figures().oldest_wait).count();
               });
  registry.add("authsvc_audit_write_errors_total", Type::counter,
               "Failed writes to the audit log (each is retried; no line is dropped).", {},
               [&audit] { return static_cast<double>(audit.figures().write_errors); });
  registry.add("authsvc_audit_lines_lost_total", Type::counter,
               "Audit lines given up on: only at exit, with the disk still full.", {},
               [&audit] { return static_cast<double>(audit.lines_lost()); });
}

void register_snapshot_metrics(MetricsRegistry& registry, const SnapshotSource& snapshots,
                               const StoreWatcher& watcher) {
  using Type = MetricsRegistry::Type;
  registry.add("authsvc_snapshot_users", Type::gauge, "Users in the snapshot answers come from.",
               {}, [&snapshots] {
                 std::shared_ptr<const Snapshot> s = snapshots.current();
                 return s ? static_cast<double>(s->user_count()) : 0.0;
               });
  registry.add("authsvc_snapshot_age_seconds", Type::gauge,
               "Seconds since the database was last read: the snapshot is known current as of "
               "then.",
               {}, [&watcher] { return seconds_since(watcher.figures().last_read); });
  registry.add("authsvc_snapshot_reloads_total", Type::counter,
               "Snapshots rebuilt after a change: all users, or only those that changed.",
               {{"kind", "full"}},
               [&watcher] { return static_cast<double>(watcher.figures().full_reloads); });
  registry.add("authsvc_snapshot_reloads_total", Type::counter, "", {{"kind", "partial"}},
               [&watcher] { return static_cast<double>(watcher.figures().partial_reloads); });
  registry.add("authsvc_store_errors_total", Type::counter,
               "Polls of the database that failed (answers came from the last good snapshot).", {},
               [&watcher] { return static_cast<double>(watcher.figures().errors); });
  registry.add("authsvc_store_reachable", Type::gauge,
               "1 if the last poll read the database, 0 while it cannot be reached (answers "
               "come from the last good snapshot).",
               {}, [&watcher] { return watcher.figures().reachable ? 1.0 : 0.0; });
  registry.add("authsvc_store_unreachable_seconds", Type::gauge,
               "Seconds since the database could no longer be read; 0 while it can.", {},
               [&watcher] {
                 StoreWatcher::Figures f = watcher.figures();
                 return f.reachable ? 0.0 : seconds_since(f.unreachable_since);
               });
  registry.add("authsvc_store_reconnects_total", Type::counter,
               "Times the database was reopened after it could not be read.", {},
               [&watcher] { return static_cast<double>(watcher.figures().reconnects); });
}

void register_listener_metrics(MetricsRegistry& registry, const HttpServer& server) {
  registry.add("authsvc_http_connections", MetricsRegistry::Type::gauge,
               "Connections open on the listener (the broker keeps them alive).", {},
               [&server] { return static_cast<double>(server.open_connections()); });
}

std::string audit_problem(const AuditLog& audit) {
  AuditLog::Figures f = audit.figures();
  if (f.oldest_wait <= kAuditMaxWait) return "";
  return fmt::format("{} audit lines wait to be written, the oldest for {:.1f} s (limit {} s)",
                     f.waiting, std::chrono::duration<double>(f.oldest_wait).count(),
                     kAuditMaxWait.count());
}

std::string listener_problem(const HttpServer& server) {
  if (server.answers(kListenerProbeTimeout)) return "";
  return fmt::format("the listener on port {} did not answer within {} s", server.port(),
                     kListenerProbeTimeout.count());
}

// An unreachable database fails readiness only once the snapshot is older
// than max_store_age, not at once: every node loses a shared database at the
// same moment, and each still answers correctly from memory, so failing
// them all would take every node out of a load balancer for nothing, and a
// failover to the standby (seconds) would make readiness flap. The
// metrics (authsvc_store_reachable) say it at once.
std::string snapshot_problem(const SnapshotSource& snapshots, const StoreWatcher& watcher,
                             std::chrono::seconds max_store_age) {
  if (!snapshots.current()) return "no user snapshot is loaded";
  StoreWatcher::Figures f = watcher.figures();
  double age = seconds_since(f.last_read);
  if (age <= static_cast<double>(max_store_age.count())) return "";
  if (!f.reachable) {
    auto read_at = std::chrono::system_clock::now() -
                   std::chrono::duration_cast<std::chrono::system_clock::duration>(
                       std::chrono::steady_clock::now() - f.last_read);
    return fmt::format(
        "the database cannot be read since {:.1f} s ({}); answering from the snapshot read "
        "at {} ({:.1f} s ago, limit {} s)",
        seconds_since(f.unreachable_since), f.error, rfc3339_utc(read_at), age,
        max_store_age.count());
  }
  return fmt::format("the database was last read {:.1f} s ago (limit {} s)", age,
                     max_store_age.count());
}

std::string liveness_problem(const HttpServer& server, const AuditLog& audit) {
  std::string problem = listener_problem(server);
  return problem.empty() ? audit_problem(audit) : problem;
}

}  // namespace authsvc
