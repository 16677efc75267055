#pragma once
// What OpenID Connect sign-in throws when the provider, its answer or its
// token is not what the protocol allows: one line for an operator's log
// that names the endpoint or the check that failed, and never holds an
// authorization code, the client secret, or a token.

#include "authsvc/core/error.h"

namespace authsvc {

class OidcError : public Error {
 public:
  using Error::Error;
};

}  // namespace authsvc
