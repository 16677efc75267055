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
#include <utility>

#include "authsvc/core/audit_sink.h"
#include "authsvc/core/decision_metrics.h"
#include "authsvc/core/http_call.h"
#include "authsvc/core/internal_users.h"
#include "authsvc/core/login_throttle.h"
#include "authsvc/core/snapshot_source.h"

namespace authsvc {

class AuthService : public HttpHandler {
 public:
  // `throttle` may be null: no login throttling; `metrics` null: none kept.
  // Every request about one of `internal_users` is denied with the rule
  // "internal-user", before the snapshot, the token and the throttle are
  // looked at (internal_users.h says why).
  AuthService(const SnapshotSource& snapshots, AuditSink& audit, LoginThrottle* throttle = nullptr,
              DecisionMetrics* metrics = nullptr, InternalUsers internal_users = {})
      : snapshots_(snapshots),
        audit_(audit),
        throttle_(throttle),
        metrics_(metrics),
        internal_users_(std::move(internal_users)) {}

  HttpAnswer handle(const HttpCall& call) const override;
  // Audits the refusal (the rule in the audit line), and answers "deny".
  HttpAnswer refuse(const HttpCall& call, int status, std::string_view reason,
                    std::string_view rule = "bad-request") const override;

 private:
  const SnapshotSource& snapshots_;
  AuditSink& audit_;
  LoginThrottle* throttle_;
  DecisionMetrics* metrics_;
  const InternalUsers internal_users_;
};

}  // namespace authsvc
