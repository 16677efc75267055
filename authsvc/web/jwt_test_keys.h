#pragma once
// For the web tests: key pairs made by OpenSSL in the test, published as a
// provider would (JWKs), and ID tokens signed with them by libjwt, so that
// what verifies them was written by someone else than what signs them.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc::testing {

class TestKey {
 public:
  // A fresh RSA key pair (RS256) or EC pair on `curve` ("P-256" for ES256,
  // "P-384" for ES384, "P-521" for ES512), named `kid`.
  static TestKey rsa(std::string kid, int bits = 2048);
  static TestKey ec(std::string kid, std::string_view curve = "P-256");

  const std::string& kid() const { return kid_; }
  const std::string& alg() const { return alg_; }
  const std::string& private_pem() const { return private_pem_; }
  const std::string& public_pem() const { return public_pem_; }
  // Its public key as a JWK: {"kty":...,"kid":...,"n","e" or "crv","x","y"},
  // then `extra_members` (e.g. R"("use":"sig")") if any.
  std::string jwk(std::string_view extra_members = "") const;
  // Its JWK's members one by one, base64url ("n", "e", "x", "y").
  std::string member(std::string_view name) const;

  // A JWT of `claims_json` (an object) signed by this key with its alg and
  // kid in the header.
  std::string sign(std::string_view claims_json) const;

 private:
  std::string kid_, alg_, kty_, crv_;
  std::string private_pem_, public_pem_;
  std::vector<std::pair<std::string, std::string>> members_;
};

// A JWT of `claims_json` signed by libjwt with `alg` ("RS256", "HS256",
// "none"...) and `key` (a private PEM, an HMAC secret, or "" for none),
// with header member kid if `kid` is given.
std::string sign_jwt(std::string_view claims_json, std::string_view alg, std::string_view key,
                     const std::optional<std::string>& kid);

// {"keys":[JWK, ...]}
std::string jwks_of(const std::vector<std::string>& jwks);

// One RSA and one EC P-256 pair a test executable shares ("rsa-1",
// "ec-1"): making an RSA pair takes a while.
const TestKey& rsa_key();
const TestKey& ec_key();

}  // namespace authsvc::testing
