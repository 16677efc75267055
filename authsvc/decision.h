#pragma once
// The policy decision: a pure function of a request and a snapshot. No I/O,
// no clock, no locks; the one place where allow or deny is decided.
//
// Fail closed: an unknown or disabled user, a vhost without a grant, or a
// name no rule allows is denied, and the decision says which check decided
// and why.

#include <string>

#include "authsvc/auth_request.h"
#include "authsvc/snapshot.h"

namespace authsvc {

struct Decision {
  bool allow = false;
  // The rule or built-in check that decided: a rule's name from the rules
  // file, "default-deny", or one of "login", "unknown-user",
  // "disabled-user", "vhost-grant", "no-vhost-grant".
  std::string rule;
  // One line for the audit log. Never contains the password.
  std::string reason;
  // For an allowed login: the user's tags, space-joined (may be empty).
  std::string tags;
};

Decision decide(const AuthRequest& request, const Snapshot& snapshot);

}  // namespace authsvc
