#include "authsvc/web/web_secrets.h"

#include <openssl/crypto.h>

#include "authsvc/core/base64url.h"
#include "authsvc/core/token.h"

namespace authsvc {
namespace {

// base64url(SHA-256(label NUL secret)): a label per use, so that no derived
// value stands in for another.
std::string derived(std::string_view label, std::string_view secret) {
  std::string input;
  input.reserve(label.size() + 1 + secret.size());
  input.append(label).push_back('\0');
  input.append(secret);
  TokenHash hash = hash_token(input);
  OPENSSL_cleanse(input.data(), input.size());
  return base64url_encode(
      std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

}  // namespace

std::string csrf_token_for(std::string_view session_id) {
  return derived("authsvc web csrf", session_id);
}

bool csrf_token_matches(std::string_view presented, std::string_view session_id) {
  std::string expected = csrf_token_for(session_id);
  return presented.size() == expected.size() &&
         CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

std::string sign_in_nonce(std::string_view browser_secret) {
  return derived("authsvc web nonce", browser_secret);
}

std::string sign_in_code_verifier(std::string_view browser_secret) {
  return derived("authsvc web pkce", browser_secret);
}

}  // namespace authsvc
