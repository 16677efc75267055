#pragma once
// `authsvc serve`: load the rules and the users, listen, answer, until
// SIGINT or SIGTERM; then finish in-flight requests and flush the audit log.

#include <string>

#include "authsvc/guardian_cli.h"
#include "authsvc/login_throttle.h"
#include "authsvc/tls.h"

namespace authsvc {

struct ServeOptions {
  std::string db_path;
  std::string listen = "127.0.0.1:8000";
  std::string rules_path;  // empty: the compiled-in rules/pulse.rules
  std::string audit_log = "-";
  unsigned threads = 1;
  LoginThrottleOptions throttle;
  int reload_interval_ms = 200;
  TlsFiles tls;  // no cert_path: plain HTTP
  // --guardian: the guardian's loop on a thread of the server, with the same
  // database and audit log.
  bool guardian = false;
  GuardianSetup guardian_setup;
};

// Returns the process exit code. Start-up failures (rules, database, audit
// log, address, TLS files, guardian options) print one line to stderr and
// return 1.
int serve(ServeOptions options);

}  // namespace authsvc
