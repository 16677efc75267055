#pragma once
// What `serve` (and the other long-running commands, for the parts they
// share) shows on its metrics listener, and when it calls itself ready.
// Every figure is read from its component when scraped.

#include <chrono>
#include <string>

#include "authsvc/core/metrics.h"
#include "authsvc/core/snapshot_source.h"
#include "authsvc/server/audit_log.h"
#include "authsvc/server/http_server.h"
#include "authsvc/server/store_watcher.h"

namespace authsvc {

// Beyond this, audit lines are not being written fast enough (the writer
// writes every 20 ms): a full disk, a stalled file system.
inline constexpr std::chrono::seconds kAuditMaxWait{5};

void register_audit_metrics(MetricsRegistry& registry, const AuditLog& audit);
void register_snapshot_metrics(MetricsRegistry& registry, const SnapshotSource& snapshots,
                               const StoreWatcher& watcher);
void register_listener_metrics(MetricsRegistry& registry, const HttpServer& server);

// How long the watchdog's probe of a listener may wait for an answer.
inline constexpr std::chrono::seconds kListenerProbeTimeout{2};

// "" when the audit log keeps up, else why not.
std::string audit_problem(const AuditLog& audit);
// "" when the listener's event loop answers a probe (HttpServer::answers)
// within kListenerProbeTimeout, else why not.
std::string listener_problem(const HttpServer& server);
// What the watchdog of serve and web waits on (a restart would fix it):
// listener_problem(), then audit_problem().
std::string liveness_problem(const HttpServer& server, const AuditLog& audit);
// "" when a snapshot is loaded and the database was read within
// `max_store_age`, else why not: naming the outage while the database
// cannot be reached, and when the snapshot answers come from was read.
std::string snapshot_problem(const SnapshotSource& snapshots, const StoreWatcher& watcher,
                             std::chrono::seconds max_store_age);

}  // namespace authsvc
