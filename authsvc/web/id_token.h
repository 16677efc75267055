#pragma once
// Checking an ID token (OpenID Connect Core 3.1.3.7) from the token
// endpoint of the authorization code flow.
//
//   IdTokenClaims who = verify_id_token(response.id_token, keys,
//                                       {.issuer = issuer, .client_id = id, .nonce =
//                                       pending.nonce}, std::chrono::system_clock::now());
//
// The signature is checked by libjwt, with the key the token's header
// names (kid) and only with that key's own algorithm: the header's alg must
// be exactly the key's, so neither "none" nor an HMAC keyed with the RSA
// public key (algorithm confusion, which libjwt 1.10 falls for) gets
// through. Without a kid, the token is checked only if the set has exactly
// one key. Then: iss is the issuer exactly; aud is or contains the client
// id, and with several audiences azp must be the client id (as it must
// whenever it is present); exp is present and now < exp + clock_skew; iat
// is present and not after now + clock_skew; nbf, if present, is not after
// now + clock_skew; the nonce is this sign-in's.
//
// email_verified is reported, not required: the caller decides, and may
// take it from userinfo instead.
//
// Pure: no I/O, no clock but `now`.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "authsvc/web/claims.h"
#include "authsvc/web/jwks.h"
#include "authsvc/web/oidc_error.h"

namespace authsvc {

struct IdTokenExpectations {
  std::string issuer;
  std::string client_id;
  std::string nonce;  // the one sent with this sign-in's authorization request
  std::chrono::seconds clock_skew{60};
};

struct IdTokenClaims {
  std::string subject;
  std::string email;  // "" if the token has none
  std::optional<bool> email_verified;
  std::chrono::system_clock::time_point expires_at;
  ClaimMap claims;  // see claims.h
};

enum class IdTokenFailure {
  malformed,    // not a JWS JWT, or a claim the checks need is missing or of the wrong type
  unknown_key,  // no key of the set is the one it names (or it names none and there are several)
  wrong_algorithm,  // alg none, or not the algorithm of the key named
  bad_signature,
  wrong_issuer,
  wrong_audience,
  expired,
  not_yet_valid,  // iat or nbf after now (beyond the skew)
  wrong_nonce,
};

// "malformed", "unknown_key", ...: for an audit line.
const char* to_string(IdTokenFailure failure);

// what() is one line fit for an audit log ("ID token expired 312 s ago"),
// which never holds the token.
class IdTokenError : public OidcError {
 public:
  IdTokenError(IdTokenFailure failure, const std::string& message)
      : OidcError(message), failure_(failure) {}
  IdTokenFailure failure() const { return failure_; }

 private:
  IdTokenFailure failure_;
};

// The claims of `token` if it passes every check above; throws IdTokenError
// with the first failure otherwise.
IdTokenClaims verify_id_token(std::string_view token, const JwkSet& keys,
                              const IdTokenExpectations& expected,
                              std::chrono::system_clock::time_point now);

}  // namespace authsvc
