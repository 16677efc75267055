#include "authsvc/core/decision.h"

namespace authsvc {
namespace {

Decision deny(std::string_view rule, std::string_view reason) {
  return Decision{false, rule, reason, {}, {}};
}

bool expired(const UserView& user, std::chrono::system_clock::time_point now) {
  return user.expires_at && now >= *user.expires_at;
}

Decision decide_login(const AuthRequest& request, const std::optional<UserView>& user,
                      std::chrono::system_clock::time_point now) {
  if (!request.password)
    return deny("login", "no password given (only token logins are supported)");
  // Hash and compare even for an unknown user, and against the previous
  // credential whether or not one is in its grace, so that the answer's
  // timing does not tell which user names exist or which are rotating.
  static constexpr std::uint8_t kNoHash[32] = {};
  static constexpr CredentialView kNoUser{CredentialScheme::token, kNoHash};
  const CredentialView current = user ? user->credential : kNoUser;
  const CredentialView previous = user && user->previous ? *user->previous : current;
  bool current_ok = credential_matches(*request.password, current);
  bool previous_ok = credential_matches(*request.password, previous);
  if (!user) return deny("unknown-user", "no such user");
  if (!user->active) return deny("disabled-user", "user is disabled");
  if (expired(*user, now)) return deny("expired-user", "the account has expired");
  if (request.password->empty()) return deny("login", "wrong token");
  if (current_ok) {
    return Decision{true, "login",
                    user->credential.legacy() ? "imported password accepted" : "token accepted",
                    user->tags, "current"};
  }
  if (user->previous && previous_ok) {
    if (now >= user->previous_valid_until) {
      return deny("login", "the previous credential's grace has ended");
    }
    return Decision{true, "login", "previous credential accepted during its grace", user->tags,
                    "previous"};
  }
  return deny("login", "wrong token");
}

}  // namespace

Decision decide(const AuthRequest& request, const Snapshot& snapshot,
                std::chrono::system_clock::time_point now) {
  const std::optional<UserView> user = snapshot.find_user(request.username);
  if (request.endpoint == Endpoint::user) return decide_login(request, user, now);

  // The broker asks about users it authenticated through us, but a user may
  // have been disabled, deleted or expired since: refuse what such a
  // connection asks.
  if (!user) return deny("unknown-user", "no such user");
  if (!user->active) return deny("disabled-user", "user is disabled");
  if (expired(*user, now)) return deny("expired-user", "the account has expired");
  if (!user->has_vhost(request.vhost)) return deny("no-vhost-grant", "no grant for this vhost");
  if (request.endpoint == Endpoint::vhost) {
    return Decision{true, "vhost-grant", "vhost granted", {}, {}};
  }

  const Rule* rule = snapshot.rules().first_match(request.resource, request.permission,
                                                  request.name, {request.username, request.vhost});
  if (!rule) return deny("default-deny", "no rule allows this");
  return Decision{rule->effect == Effect::allow, rule->name, rule->reason, {}, {}};
}

}  // namespace authsvc
