#pragma once
// The provider's signing keys: a JSON Web Key Set (RFC 7517) as an OpenID
// provider publishes it at its jwks_uri, read into public keys in PEM, the
// form libjwt verifies signatures with.
//
//   JwkSet keys = parse_jwks(body);
//   if (const SigningKey* key = keys.find(kid, "RS256")) ... key->pem ...
//
// Only keys that can verify an ID token are kept: RSA keys (RS256, RS384,
// RS512; a modulus of 2048 to 16384 bits) and EC keys on P-256 (ES256),
// P-384 (ES384) and P-521 (ES512). A key's algorithm is its "alg" member if
// it has one, else RS256 for RSA and the curve's for EC. A key meant for
// something else ("use" other than "sig", "key_ops" without "verify"), of
// another type or curve, whose "alg" its type cannot have (RS256 on an EC
// key, HS256, PS256, RSA-OAEP), whose members do not make a valid public
// key, or whose kid and algorithm an earlier key has already, is skipped:
// the others still serve, and skipped() says why, for the operator. A
// document that is not a key set at all throws OidcError.
//
// A JwkSet is immutable, so threads may share one without locks.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "authsvc/web/oidc_error.h"

namespace authsvc {

struct SigningKey {
  std::string kid;  // "" if the JWK has none
  std::string alg;  // "RS256", "RS384", "RS512", "ES256", "ES384" or "ES512"
  std::string pem;  // the public key as "-----BEGIN PUBLIC KEY-----..."
};

class JwkSet {
 public:
  JwkSet() = default;
  JwkSet(std::vector<SigningKey> keys, std::vector<std::string> skipped)
      : keys_(std::move(keys)), skipped_(std::move(skipped)) {}

  // The key named `kid` for `alg`, or nullptr. RFC 7517 lets keys of
  // different types share a kid, so the name alone may not be enough.
  const SigningKey* find(std::string_view kid, std::string_view alg) const;
  // Whether some key, of whatever algorithm, is named `kid`.
  bool has_kid(std::string_view kid) const;

  std::size_t size() const { return keys_.size(); }
  const std::vector<SigningKey>& keys() const { return keys_; }
  // One line for each key skipped, e.g. "key 2 (kid 'enc-1'): use is 'enc'".
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  std::vector<SigningKey> keys_;
  std::vector<std::string> skipped_;
};

// Throws OidcError unless `json` is a JSON object with a "keys" array of
// objects.
JwkSet parse_jwks(std::string_view json);

}  // namespace authsvc
