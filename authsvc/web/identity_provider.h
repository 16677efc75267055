#pragma once
// Who signs people in: the seam between the web and OpenID Connect. The
// app begins a sign-in with a state, a nonce and a PKCE verifier of its own
// (web_secrets.h), sends the browser to authorization_url(), and hands what
// comes back to /callback to finish(). oidc_identity_provider.h is the real
// one; the app's tests use their own.

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

struct SignInSecrets {
  std::string state;
  std::string nonce;
  std::string code_verifier;
};

// What the provider vouches for, once its answers were checked.
struct VerifiedIdentity {
  std::string subject;
  std::string email;
  bool email_verified = false;
  // Every string, boolean ("true"/"false") or array-of-strings claim.
  std::map<std::string, std::vector<std::string>> claims;
};

class IdentityProvider {
 public:
  virtual ~IdentityProvider() = default;
  // Where to send the browser. Throws authsvc::Error if the provider's
  // settings cannot be had.
  virtual std::string authorization_url(const SignInSecrets& secrets) = 0;
  // Redeems `code` and checks every answer; throws authsvc::Error with one
  // line (no secret in it) if anything is wrong.
  virtual VerifiedIdentity finish(std::string_view code, const SignInSecrets& secrets,
                                  std::chrono::system_clock::time_point now) = 0;
};

}  // namespace authsvc
