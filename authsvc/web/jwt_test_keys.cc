#include "authsvc/web/jwt_test_keys.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "authsvc/core/base64url.h"

namespace authsvc::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test key: ") + what + " failed");
}

std::string pem(EVP_PKEY* key, bool with_private) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  require(bio != nullptr, "BIO_new");
  int ok = with_private
               ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
               : PEM_write_bio_PUBKEY(bio.get(), key);
  require(ok == 1, "PEM_write");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// A big-endian number of `key`, left-padded with zeros to `size` bytes if
// `size` is not 0, as base64url.
std::string number(EVP_PKEY* key, const char* param, int size = 0) {
  BIGNUM* bn = nullptr;
  require(EVP_PKEY_get_bn_param(key, param, &bn) == 1, param);
  std::string bytes(static_cast<std::size_t>(size != 0 ? size : BN_num_bytes(bn)), '\0');
  int n = BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()),
                       static_cast<int>(bytes.size()));
  BN_free(bn);
  require(n == static_cast<int>(bytes.size()), "BN_bn2binpad");
  return base64url_encode(bytes);
}

}  // namespace

TestKey TestKey::rsa(std::string kid, int bits) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
  require(key != nullptr, "RSA key generation");
  TestKey t;
  t.kid_ = std::move(kid);
  t.alg_ = "RS256";
  t.kty_ = "RSA";
  t.private_pem_ = pem(key.get(), true);
  t.public_pem_ = pem(key.get(), false);
  t.members_ = {{"n", number(key.get(), OSSL_PKEY_PARAM_RSA_N)},
                {"e", number(key.get(), OSSL_PKEY_PARAM_RSA_E)}};
  return t;
}

TestKey TestKey::ec(std::string kid, std::string_view curve) {
  struct Known {
    std::string_view crv;
    const char* group;
    const char* alg;
    int size;
  };
  static const Known known[] = {{"P-256", "P-256", "ES256", 32},
                                {"P-384", "P-384", "ES384", 48},
                                {"P-521", "P-521", "ES512", 66}};
  const Known* k = nullptr;
  for (const Known& candidate : known) {
    if (candidate.crv == curve) k = &candidate;
  }
  require(k != nullptr, "choosing the curve");
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", k->group));
  require(key != nullptr, "EC key generation");
  TestKey t;
  t.kid_ = std::move(kid);
  t.alg_ = k->alg;
  t.kty_ = "EC";
  t.crv_ = std::string(curve);
  t.private_pem_ = pem(key.get(), true);
  t.public_pem_ = pem(key.get(), false);
  t.members_ = {{"x", number(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, k->size)},
                {"y", number(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, k->size)}};
  return t;
}

std::string TestKey::member(std::string_view name) const {
  for (const auto& [n, value] : members_) {
    if (n == name) return value;
  }
  throw std::runtime_error("test key: no member " + std::string(name));
}

std::string TestKey::jwk(std::string_view extra_members) const {
  std::string out = R"({"kty":")" + kty_ + R"(","kid":")" + kid_ + '"';
  if (!crv_.empty()) out += R"(,"crv":")" + crv_ + '"';
  for (const auto& [name, value] : members_) out += ",\"" + name + "\":\"" + value + '"';
  if (!extra_members.empty()) out += "," + std::string(extra_members);
  return out + "}";
}

std::string TestKey::sign(std::string_view claims_json) const {
  return sign_jwt(claims_json, alg_, private_pem_, kid_);
}

std::string sign_jwt(std::string_view claims_json, std::string_view alg, std::string_view key,
                     const std::optional<std::string>& kid) {
  jwt_t* raw = nullptr;
  require(jwt_new(&raw) == 0, "jwt_new");
  std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, jwt_free);
  require(jwt_add_grants_json(jwt.get(), std::string(claims_json).c_str()) == 0,
          "jwt_add_grants_json");
  if (kid) require(jwt_add_header(jwt.get(), "kid", kid->c_str()) == 0, "jwt_add_header");
  jwt_alg_t a = jwt_str_alg(std::string(alg).c_str());
  require(a != JWT_ALG_INVAL, "jwt_str_alg");
  require(jwt_set_alg(jwt.get(), a,
                      key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size())) == 0,
          "jwt_set_alg");
  std::unique_ptr<char, decltype(&std::free)> token(jwt_encode_str(jwt.get()), std::free);
  require(token != nullptr, "jwt_encode_str");
  return token.get();
}

std::string jwks_of(const std::vector<std::string>& jwks) {
  std::string out = R"({"keys":[)";
  for (std::size_t i = 0; i < jwks.size(); ++i) out += (i ? "," : "") + jwks[i];
  return out + "]}";
}

const TestKey& rsa_key() {
  static const TestKey key = TestKey::rsa("rsa-1");
  return key;
}

const TestKey& ec_key() {
  static const TestKey key = TestKey::ec("ec-1");
  return key;
}

}  // namespace authsvc::testing
