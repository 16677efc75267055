#include "authsvc/core/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace authsvc {

std::string generate_token() {
  std::array<unsigned char, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed: no token was generated");
  }
  // EVP_EncodeBlock writes standard base64 with padding and a NUL.
  std::array<unsigned char, 4 * ((32 + 2) / 3) + 1> encoded{};
  int n = EVP_EncodeBlock(encoded.data(), random.data(), static_cast<int>(random.size()));
  OPENSSL_cleanse(random.data(), random.size());
  std::string token(reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(n));
  OPENSSL_cleanse(encoded.data(), encoded.size());
  while (!token.empty() && token.back() == '=') token.pop_back();
  for (char& c : token) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
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
