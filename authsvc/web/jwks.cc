#include "authsvc/web/jwks.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "authsvc/core/base64url.h"
#include "authsvc/core/text.h"

namespace authsvc {
namespace {

using nlohmann::json;

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using ParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

// Why a key is skipped; thrown within this file only, caught per key.
struct Skip {
  std::string reason;
};

struct Curve {
  const char* crv;         // the JWK's name
  const char* group;       // OpenSSL's
  const char* alg;         // the JWS algorithm for it
  std::size_t coordinate;  // bytes of x and of y, which RFC 7518 6.2.1.2 makes exact
};
constexpr Curve kCurves[] = {{"P-256", "prime256v1", "ES256", 32},
                             {"P-384", "secp384r1", "ES384", 48},
                             {"P-521", "secp521r1", "ES512", 66}};
constexpr const char* kRsaAlgs[] = {"RS256", "RS384", "RS512"};

constexpr int kMinRsaBits = 2048;
// Verifying with a huge modulus costs the verifier, and no provider needs it.
constexpr int kMaxRsaBits = 16384;

std::string in_quotes(std::string_view text) {
  return "'" + printable(text.substr(0, 64)) + (text.size() > 64 ? "...'" : "'");
}

// Member `name` as a string, nullopt if absent; anything else but a string
// skips the key.
std::optional<std::string> string_member(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) return std::nullopt;
  if (!it->is_string()) throw Skip{std::string(name) + " is not a string"};
  return it->get<std::string>();
}

// Member `name`, required, as the bytes its base64url holds.
std::string bytes_member(const json& jwk, const char* name) {
  std::optional<std::string> text = string_member(jwk, name);
  if (!text) throw Skip{std::string("no ") + name};
  std::optional<std::string> bytes = base64url_decode(*text);
  if (!bytes || bytes->empty()) throw Skip{std::string(name) + " is not base64url"};
  return *bytes;
}

Bignum bignum(const std::string& bytes) {
  Bignum n(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                     static_cast<int>(bytes.size()), nullptr));
  if (!n) throw std::bad_alloc();
  return n;
}

// The public key `params` describe, of OpenSSL type `type`, as PEM.
std::string public_pem(const char* type, const OSSL_PARAM* params) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) !=
          1) {
    throw Skip{"not a valid public key"};
  }
  Pkey key(raw);
  // fromdata checks less than this: an EC point on the curve, a sane RSA
  // exponent.
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) throw Skip{"not a valid public key"};
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    throw OidcError("JWKS: OpenSSL could not write a public key as PEM");
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Params build(ParamBuilder& builder) {
  Params params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) throw std::bad_alloc();
  return params;
}

SigningKey rsa_key(const json& jwk, const std::optional<std::string>& alg) {
  if (alg && std::find(std::begin(kRsaAlgs), std::end(kRsaAlgs), *alg) == std::end(kRsaAlgs)) {
    throw Skip{"alg " + in_quotes(*alg) + " is not one of RS256, RS384, RS512"};
  }
  Bignum n = bignum(bytes_member(jwk, "n"));
  Bignum e = bignum(bytes_member(jwk, "e"));
  int bits = BN_num_bits(n.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    throw Skip{"an RSA modulus of " + std::to_string(bits) + " bits (2048 to 16384 accepted)"};
  }
  ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    throw std::bad_alloc();
  }
  Params params = build(builder);
  return {"", alg.value_or("RS256"), public_pem("RSA", params.get())};
}

SigningKey ec_key(const json& jwk, const std::optional<std::string>& alg) {
  std::optional<std::string> crv = string_member(jwk, "crv");
  if (!crv) throw Skip{"no crv"};
  const Curve* curve = nullptr;
  for (const Curve& c : kCurves) {
    if (*crv == c.crv) curve = &c;
  }
  if (curve == nullptr) throw Skip{"crv " + in_quotes(*crv) + " is not P-256, P-384 or P-521"};
  if (alg && *alg != curve->alg) {
    throw Skip{"alg " + in_quotes(*alg) + " does not go with crv " + curve->crv};
  }
  std::string x = bytes_member(jwk, "x");
  std::string y = bytes_member(jwk, "y");
  if (x.size() != curve->coordinate || y.size() != curve->coordinate) {
    throw Skip{"x and y must be " + std::to_string(curve->coordinate) + " bytes for " + curve->crv};
  }
  // SEC 1's uncompressed point: 0x04, x, y.
  std::string point = "\x04" + x + y;
  ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->group, 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    throw std::bad_alloc();
  }
  Params params = build(builder);
  return {"", curve->alg, public_pem("EC", params.get())};
}

SigningKey signing_key(const json& jwk) {
  std::optional<std::string> kty = string_member(jwk, "kty");
  if (!kty) throw Skip{"no kty"};
  if (std::optional<std::string> use = string_member(jwk, "use"); use && *use != "sig") {
    throw Skip{"use is " + in_quotes(*use) + ", not 'sig'"};
  }
  if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    if (!ops->is_array()) throw Skip{"key_ops is not an array"};
    bool verify = false;
    for (const json& op : *ops) verify = verify || (op.is_string() && op == "verify");
    if (!verify) throw Skip{"key_ops does not include 'verify'"};
  }
  std::optional<std::string> alg = string_member(jwk, "alg");
  SigningKey key;
  if (*kty == "RSA") {
    key = rsa_key(jwk, alg);
  } else if (*kty == "EC") {
    key = ec_key(jwk, alg);
  } else {
    throw Skip{"kty " + in_quotes(*kty) + " is not RSA or EC"};
  }
  key.kid = string_member(jwk, "kid").value_or("");
  return key;
}

}  // namespace

const SigningKey* JwkSet::find(std::string_view kid, std::string_view alg) const {
  for (const SigningKey& key : keys_) {
    if (key.kid == kid && key.alg == alg) return &key;
  }
  return nullptr;
}

bool JwkSet::has_kid(std::string_view kid) const {
  for (const SigningKey& key : keys_) {
    if (key.kid == kid) return true;
  }
  return false;
}

JwkSet parse_jwks(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw OidcError("JWKS: not valid JSON");
  if (!doc.is_object()) throw OidcError("JWKS: not a JSON object");
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) throw OidcError("JWKS: no \"keys\" array");
  std::vector<SigningKey> kept;
  std::vector<std::string> skipped;
  std::size_t index = 0;
  for (const json& jwk : *keys) {
    ++index;
    if (!jwk.is_object()) {
      throw OidcError("JWKS: key " + std::to_string(index) + " is not a JSON object");
    }
    std::string name = "key " + std::to_string(index);
    if (auto kid = jwk.find("kid"); kid != jwk.end() && kid->is_string()) {
      name += " (kid " + in_quotes(kid->get<std::string>()) + ")";
    }
    try {
      SigningKey key = signing_key(jwk);
      bool duplicate = std::any_of(kept.begin(), kept.end(), [&](const SigningKey& k) {
        return k.kid == key.kid && k.alg == key.alg;
      });
      if (duplicate) throw Skip{"an earlier key has the same kid and alg"};
      kept.push_back(std::move(key));
    } catch (const Skip& skip) {
      // A refused key leaves OpenSSL's reasons queued, where the next TLS
      // call of this thread would find them and think they were its own.
      ERR_clear_error();
      skipped.push_back(name + ": " + skip.reason);
    }
  }
  return JwkSet(std::move(kept), std::move(skipped));
}

}  // namespace authsvc
