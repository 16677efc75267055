#pragma once
// `authsvc serve`: load the rules and the users, listen, answer, until
// SIGINT or SIGTERM; then finish in-flight requests and flush the audit log.
// SIGHUP reopens the audit log file (log rotation).

#include <optional>
#include <string>
#include <vector>

#include "authsvc/core/login_throttle.h"
#include "authsvc/server/guardian_process.h"
#include "authsvc/server/ops_listener.h"
#include "authsvc/server/tls.h"
#include "authsvc/store/store.h"

namespace authsvc {

struct ServeOptions {
  StoreLocation store;
  std::string listen = "127.0.0.1:8000";
  std::string rules_path;  // empty: the compiled-in rules/pulse.rules
  std::string audit_log = "-";
  // --node-name, checked (core/node_name.h); none: this_node_name()'s
  // default, with the port bound.
  std::optional<std::string> node_name;
  unsigned threads = 1;
  LoginThrottleOptions throttle;
  // --internal-user: names denied at once, for the broker's next backend
  // (core/internal_users.h); each checked with internal_user_problem.
  std::vector<std::string> internal_users;
  // How often the watcher polls the store: SQLite's polling interval; on
  // PostgreSQL only the fallback, since a change notice wakes it at once.
  int reload_interval_ms = 200;
  TlsFiles tls;     // no cert_path: plain HTTP
  OpsSettings ops;  // /metrics, /healthz, /readyz
  // --guardian: the guardian's loop on a thread of the server, with the same
  // database and audit log.
  std::optional<GuardianConfig> guardian;
};

// Returns the process exit code. Start-up failures (rules, database, audit
// log, address, TLS files, the guardian's broker and mail settings) print
// one line to stderr and return 1.
int serve(ServeOptions options);

}  // namespace authsvc
