#pragma once
// authsvc's listener, served from a thread of the test's own process on an
// ephemeral port of 127.0.0.1: for the tests that talk to it over a socket
// (http_server_test.cc, https_test.cc, bad_input_test.cc). It answers under
// the built-in Pulse rules and audits to audit.log in a folder of its own.

#include <string>
#include <thread>
#include <vector>

#include "authsvc/core/auth_service.h"
#include "authsvc/core/snapshot_source.h"
#include "authsvc/server/audit_log.h"
#include "authsvc/server/http_server.h"
#include "tests/test_support.h"

namespace authsvc::testing {

class InProcessServer {
 public:
  // Serves `users` (see test_user) with `options`.
  explicit InProcessServer(std::vector<UserRecord> users, HttpServerOptions options = {});
  // Stops the listener and waits for its thread.
  ~InProcessServer();
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;

  int port() const { return server_.port(); }
  // The audit log's lines so far, each written whole (flushed first).
  std::vector<std::string> audit_lines();
  std::string audit_text();

 private:
  TempDir dir_;
  AuditLog audit_{dir_.file("audit.log"), "test-node"};
  SnapshotSource snapshots_;
  AuthService service_{snapshots_, audit_};
  HttpServer server_;
  std::thread thread_;
};

}  // namespace authsvc::testing
