#pragma once
// The policy decision: a pure function of a request, a snapshot and the
// time it is asked at (given, not read: expiry and a rotation's grace are
// decided by it). No I/O, no locks; the one place where allow or deny is
// decided.
//
// Fail closed: an unknown or disabled user, a vhost without a grant, or a
// name no rule allows is denied, and the decision says which check decided
// and why.

#include <chrono>
#include <string_view>

#include "authsvc/core/auth_request.h"
#include "authsvc/core/snapshot.h"

namespace authsvc {

struct Decision {
  bool allow = false;
  // The rule or built-in check that decided: a rule's name from the rules
  // file, "default-deny", or one of "login", "unknown-user",
  // "disabled-user", "vhost-grant", "no-vhost-grant".
  std::string_view rule;
  // Why, for the audit log; the request's own fields (name, permission...)
  // are logged beside it. Never contains the password.
  std::string_view reason;
  // For an allowed login: the user's tags, space-joined (may be empty).
  std::string_view tags;
  // For a login whose secret matched: "current", or "previous" during a
  // rotation's grace; empty otherwise.
  std::string_view credential;
  // rule, reason and tags are static text or owned by the snapshot: valid
  // as long as the snapshot decide() was given.
};

Decision decide(const AuthRequest& request, const Snapshot& snapshot,
                std::chrono::system_clock::time_point now);

}  // namespace authsvc
