#pragma once
// The HTTP API RabbitMQ's auth backend calls, independent of any HTTP
// library: one request in, one answer out, one audit line written.
//
//   /auth/user, /auth/vhost, /auth/resource, /auth/topic
//   GET with a query string, or POST with an x-www-form-urlencoded body.
//
// Answers are status 200 with a body of exactly "allow", "allow TAGS" (a
// login of a user with tags) or "deny", without a trailing newline: RabbitMQ
// 3.10 treats "allow\n" as an error. A request that is not one of these (an
// unknown path or method, a malformed form, a missing parameter) gets a 4xx
// status with the body "deny", so that any broker version refuses.

#include <string>
#include <string_view>

#include "authsvc/core/audit_sink.h"
#include "authsvc/core/login_throttle.h"
#include "authsvc/core/snapshot_source.h"

namespace authsvc {

struct HttpCall {
  std::string_view method;
  std::string_view path;   // raw, without the query string
  std::string_view query;  // raw, without the '?'
  std::string_view content_type;
  std::string_view body;
  std::string_view peer;  // "address:port" of the HTTP client
};

struct HttpAnswer {
  int status = 200;
  std::string body;
};

class AuthService {
 public:
  // `throttle` may be null: no login throttling.
  AuthService(const SnapshotSource& snapshots, AuditSink& audit, LoginThrottle* throttle = nullptr)
      : snapshots_(snapshots), audit_(audit), throttle_(throttle) {}

  HttpAnswer handle(const HttpCall& call) const;
  // Audits and answers a request the HTTP layer refused before it reached
  // handle() (oversized, unparsable): `status` is its 4xx, or 0 when the
  // HTTP library answered (or dropped) it on its own. `rule` names the layer
  // that refused it in the audit line: "bad-request", or "tls" for a client
  // the TLS layer did not accept.
  HttpAnswer refuse(const HttpCall& call, int status, std::string_view reason,
                    std::string_view rule = "bad-request") const;

 private:
  const SnapshotSource& snapshots_;
  AuditSink& audit_;
  LoginThrottle* throttle_;
};

}  // namespace authsvc
