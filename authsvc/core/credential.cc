#include "authsvc/core/credential.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "authsvc/core/error.h"
#include "authsvc/core/token.h"

namespace authsvc {
namespace {

constexpr std::size_t kSaltSize = 4;

const EVP_MD* digest_of(CredentialScheme scheme) {
  switch (scheme) {
    case CredentialScheme::token:
    case CredentialScheme::rabbit_sha256:
      return EVP_sha256();
    case CredentialScheme::rabbit_sha512:
      return EVP_sha512();
    case CredentialScheme::rabbit_md5:
      return EVP_md5();
  }
  return nullptr;
}

// The digest of the concatenation of `parts`, into `out` (EVP_MAX_MD_SIZE
// bytes, on the caller's stack: a login allocates nothing for it); returns
// its size.
std::size_t digest(const EVP_MD* md, std::initializer_list<std::string_view> parts,
                   std::uint8_t* out) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, md, nullptr) == 1;
  for (std::string_view part : parts)
    ok = ok && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
  unsigned int size = 0;
  ok = ok && EVP_DigestFinal_ex(ctx, out, &size) == 1 &&
       size == static_cast<unsigned int>(EVP_MD_get_size(md));
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("OpenSSL digest failed");
  return size;
}

}  // namespace

std::string_view to_string(CredentialScheme scheme) {
  switch (scheme) {
    case CredentialScheme::token:
      return "token";
    case CredentialScheme::rabbit_sha256:
      return "rabbit_password_hashing_sha256";
    case CredentialScheme::rabbit_sha512:
      return "rabbit_password_hashing_sha512";
    case CredentialScheme::rabbit_md5:
      return "rabbit_password_hashing_md5";
  }
  return "?";
}

std::optional<CredentialScheme> credential_scheme_from_string(std::string_view text) {
  for (CredentialScheme scheme : {CredentialScheme::token, CredentialScheme::rabbit_sha256,
                                  CredentialScheme::rabbit_sha512, CredentialScheme::rabbit_md5}) {
    if (text == to_string(scheme)) return scheme;
  }
  return std::nullopt;
}

std::size_t stored_hash_size(CredentialScheme scheme) {
  std::size_t digest_size = static_cast<std::size_t>(EVP_MD_get_size(digest_of(scheme)));
  return scheme == CredentialScheme::token ? digest_size : kSaltSize + digest_size;
}

Credential token_credential(std::string_view token) {
  TokenHash hash = hash_token(token);
  return Credential{CredentialScheme::token, {hash.begin(), hash.end()}};
}

Credential credential_from_rabbit_hash(CredentialScheme scheme, std::string_view base64) {
  if (scheme == CredentialScheme::token) {
    throw std::logic_error("credential_from_rabbit_hash: a token is not a RabbitMQ hash");
  }
  std::size_t expected = stored_hash_size(scheme);
  // Canonical padded base64 of `expected` bytes, nothing else: EVP_DecodeBlock
  // alone would accept whitespace and pad the output with zeros.
  std::size_t padding = (3 - expected % 3) % 3;
  bool shape_ok = base64.size() == 4 * ((expected + 2) / 3);
  for (std::size_t i = 0; shape_ok && i < base64.size(); ++i) {
    char c = base64[i];
    bool pad_position = i >= base64.size() - padding;
    shape_ok = pad_position ? c == '='
                            : ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                               (c >= '0' && c <= '9') || c == '+' || c == '/');
  }
  if (!shape_ok) {
    throw Error(std::string("password_hash is not base64 of ") + std::to_string(expected) +
                " bytes, as " + std::string(to_string(scheme)) + " needs");
  }
  std::vector<std::uint8_t> decoded(base64.size() / 4 * 3);
  int n = EVP_DecodeBlock(decoded.data(), reinterpret_cast<const unsigned char*>(base64.data()),
                          static_cast<int>(base64.size()));
  if (n < 0 || static_cast<std::size_t>(n) != decoded.size()) {
    throw Error("password_hash is not base64");
  }
  decoded.resize(expected);
  return Credential{scheme, std::move(decoded)};
}

bool CredentialView::operator==(const Credential& other) const {
  return scheme == other.scheme && std::ranges::equal(hash, other.hash);
}

CredentialView view_of(const Credential& credential) {
  return CredentialView{credential.scheme, credential.hash};
}

bool credential_matches(std::string_view presented, CredentialView stored) {
  if (stored.hash.size() != stored_hash_size(stored.scheme)) return false;
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> computed;
  std::size_t size = 0;
  std::size_t offset = 0;
  if (stored.scheme == CredentialScheme::token) {
    size = digest(digest_of(stored.scheme), {presented}, computed.data());
  } else {
    std::string_view salt(reinterpret_cast<const char*>(stored.hash.data()), kSaltSize);
    size = digest(digest_of(stored.scheme), {salt, presented}, computed.data());
    offset = kSaltSize;
  }
  bool same = CRYPTO_memcmp(computed.data(), stored.hash.data() + offset, size) == 0;
  OPENSSL_cleanse(computed.data(), size);
  return same;
}

bool credential_matches(std::string_view presented, const Credential& stored) {
  return credential_matches(presented, view_of(stored));
}

}  // namespace authsvc
