#include "authsvc/decision.h"

#include <fmt/format.h>

namespace authsvc {
namespace {

Decision deny(std::string rule, std::string reason) {
  return Decision{false, std::move(rule), std::move(reason), {}};
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
  if (!user->has_vhost(request.vhost)) {
    return deny("no-vhost-grant", fmt::format("no grant for vhost '{}'", request.vhost));
  }
  if (request.endpoint == Endpoint::vhost) {
    return Decision{true, "vhost-grant", fmt::format("vhost '{}' granted", request.vhost), {}};
  }

  const Rule* rule = snapshot.rules().first_match(request.resource, request.permission,
                                                  request.name, {request.username, request.vhost});
  if (!rule) {
    return deny("default-deny",
                fmt::format("no rule allows {} on {} '{}'", to_string(request.permission),
                            to_string(request.resource), request.name));
  }
  bool allow = rule->effect == Effect::allow;
  return Decision{allow,
                  rule->name,
                  fmt::format("rule {} (line {}) {} {} on {} '{}'", rule->name, rule->line,
                              allow ? "allows" : "denies", to_string(request.permission),
                              to_string(request.resource), request.name),
                  {}};
}

}  // namespace authsvc
