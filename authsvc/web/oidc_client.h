#pragma once
// The part of OpenID Connect sign-in that talks to the provider: its
// discovery document, its token endpoint, its keys (JWKS) and its userinfo
// endpoint, over cpp-httplib as the guardian talks to the broker
// (guardian/management_api.h).
//
//   OidcClient oidc({.issuer = "https://accounts.example.org",
//                    .client_id = "pulse-web",
//                    .client_secret = read_password_file("/etc/authsvc/oidc-secret"),
//                    .redirect_uri = "https://pulse.example.org/auth/callback"});
//   PendingSignIn pending = new_pending_sign_in();   // kept server-side, in the session
//   redirect the browser to oidc.authorization_url(pending);
//   ... on the callback, compare its state with pending.state (the caller's
//   job), then:
//   SignedIn who = oidc.finish_sign_in(code, pending, std::chrono::system_clock::now());
//
// Each request is made on a fresh connection (sign-ins are seconds apart),
// bounded by `timeout` for connecting and for each read and write, follows
// no redirect, and refuses an answer over 1 MiB. https checks the
// provider's certificate against the system's CAs and its host name.
//
// Failures throw OidcError (IdTokenError for the ID token's checks): one
// line naming the endpoint and the HTTP status or the problem, never the
// authorization code, the client secret or a token.
//
// Thread-safe. The discovery document is fetched on first use and kept.
// The JWKS too, and fetched again when an ID token names a key it lacks
// (the provider rotated its keys) — at most once per
// jwks_refetch_interval, so that such tokens cannot make authsvc fetch on
// every sign-in. Fetches of these two are serialized: one thread fetches
// while the others wait and then use what it got, which costs a waiting
// sign-in at most one timeout and spares the provider a burst of the same
// request. Token and userinfo requests run in parallel, without a lock.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "authsvc/web/claims.h"
#include "authsvc/web/id_token.h"
#include "authsvc/web/identity_provider.h"
#include "authsvc/web/jwks.h"
#include "authsvc/web/oidc_flow.h"
#include "authsvc/web/provider_url.h"

namespace authsvc {

struct OidcClientOptions {
  // https://host[:port][/path], or http on a loopback host (see
  // parse_discovery). Exactly as the provider writes its issuer.
  std::string issuer;
  std::string client_id;
  // Sent to the token endpoint with HTTP basic authentication
  // (client_secret_basic, RFC 6749 2.3.1); never in a message.
  std::string client_secret;
  // Where the provider sends the browser back: https, or http on a
  // loopback host.
  std::string redirect_uri;
  std::string scope = "openid email";
  // For connecting, and for each read or write on the connection.
  std::chrono::milliseconds timeout{10000};
  // The shortest time between two fetches of the JWKS for an unknown key.
  std::chrono::seconds jwks_refetch_interval{60};
  // After a failed discovery, how long every sign-in is refused with that
  // failure before the provider is asked again: while it is down, each
  // /login would otherwise hold a listener thread for a whole timeout.
  std::chrono::seconds discovery_retry_interval{5};
};

class OidcClient : public IdentityProvider {
 public:
  // Validates the options (throws OidcError); connects only when first
  // needed.
  explicit OidcClient(OidcClientOptions options);
  OidcClient(const OidcClient&) = delete;
  OidcClient& operator=(const OidcClient&) = delete;

  // The provider's discovery document, <issuer>/.well-known/openid-configuration,
  // fetched on the first call; a failure is kept for
  // discovery_retry_interval, then the next call tries again. The
  // reference stays valid as long as the client.
  const ProviderMetadata& metadata();

  // Where to send the browser for this sign-in (oidc_flow.h).
  std::string authorization_url(const PendingSignIn& pending) override;

  // Redeems `code` at the token endpoint (with pending's code verifier),
  // checks the ID token (id_token.h, with pending's nonce, at `now`), and,
  // if it lacks email or email_verified and the provider has a userinfo
  // endpoint, takes them from userinfo: its email and email_verified if
  // the ID token has no email; only its email_verified if the ID token's
  // email is the same address.
  SignedIn finish_sign_in(std::string_view code, const PendingSignIn& pending,
                          std::chrono::system_clock::time_point now) override;

 private:
  std::shared_ptr<const JwkSet> keys();
  // The set to try again with after `tried` lacked the token's key, or
  // nullptr if there is none newer and it is too soon to fetch.
  std::shared_ptr<const JwkSet> keys_after(const std::shared_ptr<const JwkSet>& tried);
  std::shared_ptr<const JwkSet> fetch_keys();
  IdTokenClaims verify(const std::string& id_token, const IdTokenExpectations& expected,
                       std::chrono::system_clock::time_point now);

  const OidcClientOptions options_;
  bool loopback_http_ = false;  // the issuer is http on a loopback host
  ProviderUrl discovery_url_;

  std::mutex fetch_mutex_;                    // held while fetching discovery or the JWKS
  std::mutex mutex_;                          // guards the three below, never held during I/O
  std::optional<ProviderMetadata> metadata_;  // set once, never changed after
  std::shared_ptr<const JwkSet> keys_;
  std::optional<std::chrono::steady_clock::time_point> last_refetch_;
  // The last failed discovery, while it is kept (under fetch_mutex_).
  std::optional<std::chrono::steady_clock::time_point> discovery_failed_at_;
  std::string discovery_error_;
};

}  // namespace authsvc
