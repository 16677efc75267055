#include "authsvc/core/decision.h"

namespace authsvc {
namespace {

Decision deny(std::string_view rule, std::string_view reason) {
  return Decision{false, rule, reason, {}};
}

Decision decide_login(const AuthRequest& request, const UserRecord* user) {
  if (!request.password)
    return deny("login", "no password given (only token logins are supported)");
  // Hash and compare even for an unknown user, so that the answer's timing
  // does not tell which user names exist.
  static const TokenHash kNoUser{};
  bool token_ok = token_matches(*request.password, user ? user->token_hash : kNoUser);
  if (!user) return deny("unknown-user", "no such user");
  if (!user->active) return deny("disabled-user", "user is disabled");
  if (request.password->empty() || !token_ok) return deny("login", "wrong token");
  return Decision{true, "login", "token accepted", user->tags};
}

}  // namespace

Decision decide(const AuthRequest& request, const Snapshot& snapshot) {
  const UserRecord* user = snapshot.find_user(request.username);
  if (request.endpoint == Endpoint::user) return decide_login(request, user);

  // The broker asks about users it authenticated through us, but a user may
  // have been disabled or deleted since: refuse what such a connection asks.
  if (!user) return deny("unknown-user", "no such user");
  if (!user->active) return deny("disabled-user", "user is disabled");
  if (!user->has_vhost(request.vhost)) return deny("no-vhost-grant", "no grant for this vhost");
  if (request.endpoint == Endpoint::vhost) {
    return Decision{true, "vhost-grant", "vhost granted", {}};
  }

  const Rule* rule = snapshot.rules().first_match(request.resource, request.permission,
                                                  request.name, {request.username, request.vhost});
  if (!rule) return deny("default-deny", "no rule allows this");
  return Decision{rule->effect == Effect::allow, rule->name, rule->reason, {}};
}

}  // namespace authsvc
