#pragma once
// What an OpenID provider says about the person signing in, read the same
// way from an ID token's payload and from a userinfo answer, so that a rule
// such as --require-claim groups=admins means the same thing for both.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

// Every claim whose value is a string (one value), a boolean ("true" or
// "false") or an array of strings (its values, in order). Numbers, objects,
// null and arrays holding anything but strings are left out: a rule
// compares text, and guessing how to write a number or an object as text
// would make a rule match what its author did not mean.
using ClaimMap = std::map<std::string, std::vector<std::string>>;

struct IdentityClaims {
  std::string subject;                 // "sub": the provider's stable name for the person
  std::string email;                   // "" if there is none (or it is not a string)
  std::optional<bool> email_verified;  // a boolean, or the strings "true" and "false"
  ClaimMap claims;
};

// The claims in `json`, a JSON object. Throws OidcError, its message
// starting with `what` ("ID token", "userinfo"), if it is not one, or if
// "sub" is not a string of 1 to 255 bytes without control characters (OIDC
// Core 2 caps it at 255 ASCII characters).
IdentityClaims parse_identity_claims(std::string_view json, std::string_view what);

}  // namespace authsvc
