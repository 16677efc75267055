#include "authsvc/core/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "authsvc/core/base64url.h"

namespace authsvc {

std::string generate_token() {
  std::array<unsigned char, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed: no token was generated");
  }
  std::string token = base64url_encode(
      std::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
  OPENSSL_cleanse(random.data(), random.size());
  return token;
}

TokenHash hash_token(std::string_view token) {
  TokenHash hash{};
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), hash.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != hash.size()) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  return hash;
}

bool token_matches(std::string_view presented, const TokenHash& stored) {
  TokenHash hash = hash_token(presented);
  return CRYPTO_memcmp(hash.data(), stored.data(), hash.size()) == 0;
}

}  // namespace authsvc
