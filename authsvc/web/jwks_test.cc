#include "authsvc/web/jwks.h"

#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "authsvc/web/jwt_test_keys.h"

namespace authsvc {
namespace {

using testing::ec_key;
using testing::jwks_of;
using testing::rsa_key;
using testing::TestKey;

// The key in `pem`, private or public.
std::shared_ptr<EVP_PKEY> read_key(const std::string& pem, bool is_private) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* key = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  REQUIRE(key != nullptr);
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::string sign(const std::string& private_pem, const std::string& message) {
  auto key = read_key(private_pem, true);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1);
  std::size_t size = 0;
  auto data = reinterpret_cast<const unsigned char*>(message.data());
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &size, data, message.size()) == 1);
  std::string signature(size, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                         message.size()) == 1);
  signature.resize(size);
  return signature;
}

bool verifies(const std::string& public_pem, const std::string& message,
              const std::string& signature) {
  auto key = read_key(public_pem, false);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  REQUIRE(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1);
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

// Whether some line of `skipped` has both `name` and `reason` in it.
bool skipped_with(const JwkSet& set, const std::string& name, const std::string& reason) {
  for (const std::string& line : set.skipped()) {
    if (line.find(name) != std::string::npos && line.find(reason) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// `key`'s JWK under another kid.
std::string with_kid(const TestKey& key, const std::string& kid, std::string_view extra = "") {
  std::string jwk = key.jwk(extra);
  std::string from = "\"kid\":\"" + key.kid() + "\"";
  return jwk.replace(jwk.find(from), from.size(), "\"kid\":\"" + kid + "\"");
}

}  // namespace

TEST_SUITE("jwks") {
  TEST_CASE("RSA and EC JWKs become the public keys that verify their pairs' signatures") {
    const TestKey p384 = TestKey::ec("ec-384", "P-384");
    const TestKey p521 = TestKey::ec("ec-521", "P-521");
    JwkSet set = parse_jwks(
        jwks_of({rsa_key().jwk(R"("use":"sig")"), ec_key().jwk(), p384.jwk(), p521.jwk()}));
    CHECK(set.skipped().empty());
    REQUIRE(set.size() == 4);
    for (const TestKey* key : {&rsa_key(), &ec_key(), &p384, &p521}) {
      CAPTURE(key->kid());
      const SigningKey* found = set.find(key->kid(), key->alg());
      REQUIRE(found != nullptr);
      CHECK(found->kid == key->kid());
      CHECK(found->pem == key->public_pem());
      std::string signature = sign(key->private_pem(), "a message");
      CHECK(verifies(found->pem, "a message", signature));
      CHECK_FALSE(verifies(found->pem, "another message", signature));
    }
    // A key made elsewhere does not verify: the PEM is this pair's.
    const TestKey other = TestKey::ec("other");
    CHECK_FALSE(verifies(set.find("ec-1", "ES256")->pem, "a message",
                         sign(other.private_pem(), "a message")));
  }

  TEST_CASE("a key's algorithm is its alg member, else RS256 for RSA and the curve's for EC") {
    JwkSet set = parse_jwks(jwks_of(
        {rsa_key().jwk(), rsa_key().jwk(R"("alg":"RS512")"), ec_key().jwk(R"("alg":"ES256")")}));
    REQUIRE(set.size() == 3);
    CHECK(set.keys()[0].alg == "RS256");
    CHECK(set.keys()[1].alg == "RS512");
    CHECK(set.keys()[2].alg == "ES256");
    CHECK(set.find("rsa-1", "RS384") == nullptr);
    CHECK(set.find("rsa-1", "ES256") == nullptr);
    CHECK(set.find("nobody", "RS256") == nullptr);
    CHECK(set.has_kid("rsa-1"));
    CHECK_FALSE(set.has_kid("nobody"));
  }

  TEST_CASE("keys of different types may share a kid, each found by its algorithm") {
    const TestKey ec_named_like_rsa = TestKey::ec("rsa-1");
    JwkSet set = parse_jwks(jwks_of({rsa_key().jwk(), ec_named_like_rsa.jwk()}));
    REQUIRE(set.size() == 2);
    CHECK(set.find("rsa-1", "RS256")->pem == rsa_key().public_pem());
    CHECK(set.find("rsa-1", "ES256")->pem == ec_named_like_rsa.public_pem());
  }

  TEST_CASE("a key without kid is kept with an empty kid") {
    std::string jwk = R"({"kty":"EC","crv":"P-256","x":")" + ec_key().member("x") + R"(","y":")" +
                      ec_key().member("y") + R"("})";
    JwkSet set = parse_jwks(jwks_of({jwk}));
    REQUIRE(set.size() == 1);
    CHECK(set.keys()[0].kid == "");
    CHECK(set.keys()[0].alg == "ES256");
  }

  TEST_CASE("keys that cannot verify an ID token are skipped, with a reason, and the rest kept") {
    const TestKey weak = TestKey::rsa("weak", 1024);
    std::string x = ec_key().member("x"), y = ec_key().member("y");
    std::string y_off_curve = y;
    y_off_curve[10] = y_off_curve[10] == 'A' ? 'B' : 'A';
    struct Case {
      std::string jwk, reason;
    };
    const std::vector<Case> cases = {
        {R"({"kid":"enc","kty":"RSA","use":"enc","n":")" + rsa_key().member("n") +
             R"(","e":"AQAB"})",
         "use is 'enc'"},
        {R"({"kid":"ops","kty":"RSA","key_ops":["encrypt"],"n":")" + rsa_key().member("n") +
             R"(","e":"AQAB"})",
         "key_ops"},
        {R"({"kid":"oct","kty":"oct","k":"c2VjcmV0"})", "kty 'oct'"},
        {R"({"kid":"okp","kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
         "kty 'OKP'"},
        {R"({"kid":"k1","kty":"EC","crv":"secp256k1","x":")" + x + R"(","y":")" + y + R"("})",
         "crv 'secp256k1'"},
        {with_kid(rsa_key(), "rsa-es", R"("alg":"ES256")"), "alg 'ES256'"},
        {with_kid(rsa_key(), "rsa-hs", R"("alg":"HS256")"), "alg 'HS256'"},
        {with_kid(rsa_key(), "rsa-ps", R"("alg":"PS256")"), "alg 'PS256'"},
        {with_kid(rsa_key(), "rsa-oa", R"("alg":"RSA-OAEP")"), "alg 'RSA-OAEP'"},
        {with_kid(ec_key(), "ec-rs", R"("alg":"RS256")"), "alg 'RS256'"},
        {with_kid(ec_key(), "ec-384", R"("alg":"ES384")"), "alg 'ES384'"},
        {R"({"kid":"short","kty":"EC","crv":"P-256","x":")" + x.substr(0, 40) + R"(","y":")" + y +
             R"("})",
         "32 bytes"},
        {R"({"kid":"off","kty":"EC","crv":"P-256","x":")" + x + R"(","y":")" + y_off_curve +
             R"("})",
         "not a valid public key"},
        {weak.jwk(), "1024 bits"},
        {R"({"kid":"padded","kty":"RSA","n":")" + rsa_key().member("n") + R"(=","e":"AQAB"})",
         "n is not base64url"},
        {R"({"kid":"no-e","kty":"RSA","n":")" + rsa_key().member("n") + R"("})", "no e"},
        {R"({"kid":"num","kty":"RSA","n":12,"e":"AQAB"})", "n is not a string"},
        {R"({"kid":"nokty"})", "no kty"},
        {with_kid(rsa_key(), "dup"), ""},  // kept: the first of two
        {with_kid(rsa_key(), "dup"), "same kid and alg"},
    };
    std::vector<std::string> jwks{rsa_key().jwk()};
    for (const Case& c : cases) jwks.push_back(c.jwk);
    jwks.push_back(ec_key().jwk());
    JwkSet set = parse_jwks(jwks_of(jwks));
    INFO("skipped: " << [&] {
      std::string all;
      for (const std::string& s : set.skipped()) all += "\n  " + s;
      return all;
    }());
    CHECK(set.size() == 3);
    CHECK(set.find("rsa-1", "RS256") != nullptr);
    CHECK(set.find("ec-1", "ES256") != nullptr);
    CHECK(set.find("dup", "RS256") != nullptr);
    CHECK(set.skipped().size() == cases.size() - 1);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      if (cases[i].reason.empty()) continue;
      CAPTURE(cases[i].jwk);
      CHECK(skipped_with(set, "key " + std::to_string(i + 2), cases[i].reason));
    }
  }

  TEST_CASE("a document that is not a key set throws OidcError") {
    for (const char* bad :
         {"", "not json", "[]", "{}", R"({"keys":{}})", R"({"keys":"x"})", R"({"keys":[1]})",
          R"({"keys":[{"kty":"RSA"}, null]})", R"({"keys":[]} trailing)"}) {
      CAPTURE(bad);
      CHECK_THROWS_AS(parse_jwks(bad), OidcError);
    }
    CHECK_THROWS_WITH(parse_jwks(R"({"keys":[{}, 7]})"), "JWKS: key 2 is not a JSON object");
  }

  TEST_CASE("an empty key set is a set with no keys") {
    JwkSet set = parse_jwks(R"({"keys":[]})");
    CHECK(set.size() == 0);
    CHECK(set.skipped().empty());
  }
}

}  // namespace authsvc
