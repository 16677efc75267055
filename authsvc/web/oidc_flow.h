#pragma once
// The authorization code flow of OpenID Connect (Core 3.1), with state,
// nonce and PKCE S256 (RFC 7636), as pure functions: what the provider's
// documents say and what to send it. OidcClient (oidc_client.h) does the
// I/O with them.
//
//   PendingSignIn pending = new_pending_sign_in();   // kept server-side
//   redirect to authorization_url(metadata, client_id, redirect_uri, pending);
//   ... the provider redirects back with ?code=...&state=...
//   (the caller compares state with pending.state, then posts the code)
//
// Every parser throws OidcError, one line naming the document and what is
// wrong with it, never a token.

#include <string>
#include <string_view>

#include "authsvc/web/claims.h"
#include "authsvc/web/oidc_error.h"

namespace authsvc {

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::string userinfo_endpoint;  // "" if the provider has none
};

// The discovery document (OpenID Connect Discovery 1.0, 3 and 4.3) of
// `expected_issuer`: its issuer must be that one exactly, and each endpoint
// an absolute https URL (provider_url.h), or http on a loopback host when
// the issuer itself is http on a loopback host. If it lists
// response_types_supported, "code" must be among them; if
// code_challenge_methods_supported, "S256"; if
// token_endpoint_auth_methods_supported, "client_secret_basic" (the only
// method OidcClient uses).
ProviderMetadata parse_discovery(std::string_view json, std::string_view expected_issuer);

// What one sign-in must remember between sending the browser to the
// provider and its coming back; each 256 bits from the CSPRNG as 43
// characters of base64url (core/token.h's generate_token). Secret until
// the sign-in ends: keep it server-side, bound to the browser's session.
struct PendingSignIn {
  std::string state;          // ties the callback to this browser (CSRF)
  std::string nonce;          // ties the ID token to this sign-in (replay)
  std::string code_verifier;  // ties the code to this client (PKCE)
};
PendingSignIn new_pending_sign_in();

// BASE64URL(SHA-256(verifier)), RFC 7636 4.2. Throws OidcError unless the
// verifier is 43 to 128 of RFC 7636's unreserved characters.
std::string pkce_s256_challenge(std::string_view verifier);

// The authorization endpoint with response_type=code, client_id,
// redirect_uri, scope, state, nonce, code_challenge and
// code_challenge_method=S256 added to its own query, each percent-encoded.
// Throws OidcError if the endpoint's query already has one of them (RFC
// 6749 3.1: a parameter is sent once).
std::string authorization_url(const ProviderMetadata& provider, std::string_view client_id,
                              std::string_view redirect_uri, const PendingSignIn& pending,
                              std::string_view scope = "openid email");

struct TokenResponse {
  std::string id_token;
  std::string access_token;  // "" if none was given
};

// A successful answer of the token endpoint (OIDC Core 3.1.3.3): it must
// have an id_token, and its token_type, if given, must be Bearer (in any
// case).
TokenResponse parse_token_response(std::string_view json);

// A userinfo answer (OIDC Core 5.3.2), read as claims.h reads claims; its
// sub must be `expected_subject`, the ID token's, or the answer is about
// someone else (token substitution) and is refused.
IdentityClaims parse_userinfo(std::string_view json, std::string_view expected_subject);

}  // namespace authsvc
