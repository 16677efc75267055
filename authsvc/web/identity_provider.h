#pragma once
// Who signs people in: the seam between the web app and OpenID Connect. The
// app begins a sign-in with a state, a nonce and a PKCE verifier of its own
// (web_secrets.h), sends the browser to authorization_url(), and hands what
// comes back to /callback to finish_sign_in(). OidcClient (oidc_client.h)
// is the real one; the app's tests have their own.

#include <chrono>
#include <string>
#include <string_view>

#include "authsvc/web/claims.h"
#include "authsvc/web/oidc_flow.h"

namespace authsvc {

// What the provider vouches for, once every answer was checked.
struct SignedIn {
  std::string subject;
  std::string email;  // "" if neither the ID token nor userinfo gave one
  bool email_verified = false;
  ClaimMap claims;  // the ID token's, and userinfo's for names the ID token lacks
};

class IdentityProvider {
 public:
  virtual ~IdentityProvider() = default;
  // Where to send the browser for this sign-in. Throws authsvc::Error if the
  // provider's settings cannot be had.
  virtual std::string authorization_url(const PendingSignIn& pending) = 0;
  // Redeems `code` and checks every answer; throws authsvc::Error with one
  // line (no secret in it) if anything is wrong.
  virtual SignedIn finish_sign_in(std::string_view code, const PendingSignIn& pending,
                                  std::chrono::system_clock::time_point now) = 0;
};

}  // namespace authsvc
