#include "authsvc/web/web_secrets.h"

#include <doctest/doctest.h>

#include <set>

#include "authsvc/core/base64url.h"
#include "authsvc/core/token.h"

namespace authsvc {

TEST_CASE("a session's CSRF token is its own, stable, and checked exactly") {
  std::string session = generate_token();
  std::string other = generate_token();
  std::string csrf = csrf_token_for(session);
  CHECK(csrf == csrf_token_for(session));  // one token for every form of the session
  CHECK(csrf.size() == 43);
  CHECK(csrf != session);
  CHECK(csrf_token_matches(csrf, session));
  CHECK_FALSE(csrf_token_matches(csrf_token_for(other), session));
  CHECK_FALSE(csrf_token_matches("", session));
  CHECK_FALSE(csrf_token_matches(csrf.substr(0, 42), session));
  CHECK_FALSE(csrf_token_matches(csrf + "A", session));
  // Neither the id nor the store's hash of it stands in for the token.
  CHECK_FALSE(csrf_token_matches(session, session));
  TokenHash stored = hash_token(session);
  CHECK_FALSE(csrf_token_matches(
      base64url_encode(std::string_view(reinterpret_cast<const char*>(stored.data()), 32)),
      session));
}

TEST_CASE("a sign-in's nonce and PKCE verifier come from its browser secret, each its own") {
  std::string secret = generate_token();
  std::set<std::string> values{secret, sign_in_nonce(secret), sign_in_code_verifier(secret),
                               csrf_token_for(secret)};
  CHECK(values.size() == 4);
  CHECK(sign_in_nonce(secret) == sign_in_nonce(secret));
  CHECK(sign_in_code_verifier(secret) == sign_in_code_verifier(secret));
  CHECK(sign_in_nonce(secret) != sign_in_nonce(generate_token()));
  // RFC 7636: a verifier is 43 to 128 unreserved characters.
  std::string verifier = sign_in_code_verifier(secret);
  CHECK(verifier.size() == 43);
  CHECK(verifier.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
        std::string::npos);
}

}  // namespace authsvc
