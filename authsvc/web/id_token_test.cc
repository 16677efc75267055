#include "authsvc/web/id_token.h"

#include <doctest/doctest.h>
#include <jwt.h>

#include <nlohmann/json.hpp>

#include "authsvc/core/base64url.h"
#include "authsvc/web/jwt_test_keys.h"

namespace authsvc {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using std::chrono::system_clock;
using testing::ec_key;
using testing::jwks_of;
using testing::rsa_key;
using testing::sign_jwt;
using testing::TestKey;

const system_clock::time_point kNow{seconds(1'800'000'000)};
const std::int64_t kNowSeconds = 1'800'000'000;

// Another pair under rsa_key()'s name: what a forger would sign with.
const TestKey& impostor_key() {
  static const TestKey key = TestKey::rsa("rsa-1");
  return key;
}

const JwkSet& provider_keys() {
  static const JwkSet keys = parse_jwks(jwks_of({rsa_key().jwk(), ec_key().jwk()}));
  return keys;
}

IdTokenExpectations expectations() {
  return {.issuer = "https://id.example.org",
          .client_id = "authsvc-web",
          .nonce = "n-0S6_WzA2Mj",
          .clock_skew = seconds(60)};
}

json good_claims() {
  return {{"iss", "https://id.example.org"}, {"sub", "248289761001"},   {"aud", "authsvc-web"},
          {"exp", kNowSeconds + 300},        {"iat", kNowSeconds - 10}, {"nonce", "n-0S6_WzA2Mj"},
          {"email", "jane@example.org"},     {"email_verified", true}};
}

IdTokenClaims verify(const std::string& token, const JwkSet& keys = provider_keys(),
                     const IdTokenExpectations& expected = expectations()) {
  return verify_id_token(token, keys, expected, kNow);
}

// The failure verifying `token` throws, after checking that its message is
// one line and holds no part of the token.
std::optional<IdTokenFailure> failure_of(const std::string& token,
                                         const JwkSet& keys = provider_keys(),
                                         const IdTokenExpectations& expected = expectations()) {
  try {
    verify(token, keys, expected);
  } catch (const IdTokenError& e) {
    std::string message = e.what();
    CAPTURE(message);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(message.rfind("ID token", 0) == 0);
    std::size_t first_dot = token.find('.'), last_dot = token.rfind('.');
    if (first_dot != std::string::npos && last_dot > first_dot + 1) {
      CHECK(message.find(token.substr(first_dot + 1, last_dot - first_dot - 1)) ==
            std::string::npos);
    }
    if (last_dot != std::string::npos && last_dot + 1 < token.size()) {
      CHECK(message.find(token.substr(last_dot + 1)) == std::string::npos);
    }
    return e.failure();
  }
  return std::nullopt;
}

std::string message_of(const std::string& token,
                       const IdTokenExpectations& expected = expectations()) {
  try {
    verify(token, provider_keys(), expected);
  } catch (const IdTokenError& e) {
    return e.what();
  }
  return "";
}

std::string with(json claims, const std::string& name, json value) {
  claims[name] = std::move(value);
  return rsa_key().sign(claims.dump());
}
std::string without(json claims, const std::string& name) {
  claims.erase(name);
  return rsa_key().sign(claims.dump());
}

}  // namespace

TEST_SUITE("id_token") {
  TEST_CASE("a valid RS256 token gives its subject, email, expiry and claims") {
    json claims = good_claims();
    claims["groups"] = {"admins", "pulse"};
    claims["hd"] = "example.org";
    claims["auth_time"] = kNowSeconds - 20;
    IdTokenClaims got = verify(rsa_key().sign(claims.dump()));
    CHECK(got.subject == "248289761001");
    CHECK(got.email == "jane@example.org");
    CHECK(got.email_verified == true);
    CHECK(got.expires_at == kNow + seconds(300));
    CHECK(got.claims.at("groups") == std::vector<std::string>{"admins", "pulse"});
    CHECK(got.claims.at("hd") == std::vector<std::string>{"example.org"});
    CHECK(got.claims.at("email_verified") == std::vector<std::string>{"true"});
    CHECK(got.claims.at("iss") == std::vector<std::string>{"https://id.example.org"});
    CHECK(got.claims.count("auth_time") == 0);  // a number
    CHECK(got.claims.count("exp") == 0);
  }

  TEST_CASE("a valid ES256 token verifies") {
    IdTokenClaims got = verify(ec_key().sign(good_claims().dump()));
    CHECK(got.subject == "248289761001");
  }

  TEST_CASE("email and email_verified are reported, not required") {
    json claims = good_claims();
    claims.erase("email");
    claims["email_verified"] = false;
    IdTokenClaims got = verify(rsa_key().sign(claims.dump()));
    CHECK(got.email == "");
    CHECK(got.email_verified == false);
    CHECK(verify(without(good_claims(), "email_verified")).email_verified == std::nullopt);
  }

  TEST_CASE("a tampered payload does not verify") {
    std::string token = rsa_key().sign(good_claims().dump());
    json forged = good_claims();
    forged["sub"] = "someone-else";
    std::size_t a = token.find('.'), b = token.rfind('.');
    std::string tampered =
        token.substr(0, a + 1) + base64url_encode(forged.dump()) + token.substr(b);
    CHECK(failure_of(tampered) == IdTokenFailure::bad_signature);
    // One flipped bit of the signature, too.
    std::string flipped = token;
    flipped[b + 5] = flipped[b + 5] == 'A' ? 'B' : 'A';
    CHECK(failure_of(flipped) == IdTokenFailure::bad_signature);
  }

  TEST_CASE("a signature by another key pair under the same kid does not verify") {
    std::string forged = impostor_key().sign(good_claims().dump());
    CHECK(failure_of(forged) == IdTokenFailure::bad_signature);
    CHECK(message_of(forged) == "ID token signature does not verify with key 'rsa-1'");
  }

  TEST_CASE("a kid the set does not have is unknown_key") {
    const TestKey stranger = TestKey::ec("rotated-in");
    std::string token = stranger.sign(good_claims().dump());
    CHECK(failure_of(token) == IdTokenFailure::unknown_key);
    CHECK(message_of(token) == "ID token key 'rotated-in' is not in the provider's key set");
  }

  TEST_CASE("alg none is refused, with or without a kid") {
    CHECK(failure_of(sign_jwt(good_claims().dump(), "none", "", std::string("rsa-1"))) ==
          IdTokenFailure::wrong_algorithm);
    JwkSet one = parse_jwks(jwks_of({rsa_key().jwk()}));
    CHECK(failure_of(sign_jwt(good_claims().dump(), "none", "", std::nullopt), one) ==
          IdTokenFailure::wrong_algorithm);
  }

  TEST_CASE(
      "HS256 keyed with the RSA public key is wrong_algorithm, though libjwt alone takes it") {
    const std::string& pem = provider_keys().find("rsa-1", "RS256")->pem;
    std::string token = sign_jwt(good_claims().dump(), "HS256", pem, std::string("rsa-1"));
    // The attack works on libjwt 1.10 by itself (docs/real-parts.md): this
    // is what the algorithm check is for.
    jwt_t* jwt = nullptr;
    CHECK(jwt_decode(&jwt, token.c_str(), reinterpret_cast<const unsigned char*>(pem.data()),
                     static_cast<int>(pem.size())) == 0);
    jwt_free(jwt);
    CHECK(failure_of(token) == IdTokenFailure::wrong_algorithm);
    CHECK(message_of(token) == "ID token alg 'HS256' is not the algorithm of key 'rsa-1'");
  }

  TEST_CASE("an RS256 header naming an EC key is wrong_algorithm") {
    std::string token =
        sign_jwt(good_claims().dump(), "RS256", rsa_key().private_pem(), std::string("ec-1"));
    CHECK(failure_of(token) == IdTokenFailure::wrong_algorithm);
  }

  TEST_CASE("without a kid, a token is checked only against a set of exactly one key") {
    std::string rs = sign_jwt(good_claims().dump(), "RS256", rsa_key().private_pem(), std::nullopt);
    CHECK(failure_of(rs) == IdTokenFailure::unknown_key);
    CHECK(message_of(rs) == "ID token names no key (kid) and the provider has 2 keys");
    JwkSet only_rsa = parse_jwks(jwks_of({rsa_key().jwk()}));
    CHECK(verify(rs, only_rsa).subject == "248289761001");
    JwkSet only_ec = parse_jwks(jwks_of({ec_key().jwk()}));
    CHECK(failure_of(rs, only_ec) == IdTokenFailure::wrong_algorithm);
    CHECK(failure_of(rs, JwkSet()) == IdTokenFailure::unknown_key);
  }

  TEST_CASE("the issuer must be the expected one exactly") {
    CHECK(failure_of(with(good_claims(), "iss", "https://evil.example.org")) ==
          IdTokenFailure::wrong_issuer);
    CHECK(failure_of(with(good_claims(), "iss", "https://id.example.org/")) ==
          IdTokenFailure::wrong_issuer);
    CHECK(failure_of(without(good_claims(), "iss")) == IdTokenFailure::wrong_issuer);
    CHECK(message_of(with(good_claims(), "iss", "https://evil.example.org")) ==
          "ID token issuer 'https://evil.example.org' is not 'https://id.example.org'");
  }

  TEST_CASE("the audience must include the client, and several need azp to be the client") {
    CHECK(failure_of(with(good_claims(), "aud", "someone-else")) == IdTokenFailure::wrong_audience);
    CHECK(failure_of(without(good_claims(), "aud")) == IdTokenFailure::wrong_audience);
    CHECK(failure_of(with(good_claims(), "aud", json::array({"a", "b"}))) ==
          IdTokenFailure::wrong_audience);
    CHECK(verify(with(good_claims(), "aud", json::array({"authsvc-web"}))).subject ==
          "248289761001");

    json several = good_claims();
    several["aud"] = {"authsvc-web", "other-api"};
    CHECK(failure_of(rsa_key().sign(several.dump())) == IdTokenFailure::wrong_audience);
    several["azp"] = "other-api";
    CHECK(failure_of(rsa_key().sign(several.dump())) == IdTokenFailure::wrong_audience);
    several["azp"] = "authsvc-web";
    CHECK(verify(rsa_key().sign(several.dump())).subject == "248289761001");

    // azp, when present, is the client even with a single audience.
    CHECK(failure_of(with(good_claims(), "azp", "other-api")) == IdTokenFailure::wrong_audience);
    CHECK(failure_of(with(good_claims(), "aud", json::array({"authsvc-web", 7}))) ==
          IdTokenFailure::malformed);
  }

  TEST_CASE("expiry: refused from exp + skew on, accepted before") {
    CHECK(failure_of(with(good_claims(), "exp", kNowSeconds - 61)) == IdTokenFailure::expired);
    CHECK(message_of(with(good_claims(), "exp", kNowSeconds - 312)) ==
          "ID token expired 312 s ago");
    CHECK(failure_of(with(good_claims(), "exp", kNowSeconds - 60)) == IdTokenFailure::expired);
    CHECK(verify(with(good_claims(), "exp", kNowSeconds - 59)).expires_at == kNow - seconds(59));
    CHECK(verify(with(good_claims(), "exp", kNowSeconds - 30)).subject == "248289761001");
    IdTokenExpectations strict = expectations();
    strict.clock_skew = seconds(0);
    CHECK(failure_of(with(good_claims(), "exp", kNowSeconds - 30), provider_keys(), strict) ==
          IdTokenFailure::expired);
    CHECK(failure_of(with(good_claims(), "exp", kNowSeconds), provider_keys(), strict) ==
          IdTokenFailure::expired);
    CHECK(failure_of(without(good_claims(), "exp")) == IdTokenFailure::malformed);
    CHECK(failure_of(with(good_claims(), "exp", "tomorrow")) == IdTokenFailure::malformed);
    CHECK(failure_of(with(good_claims(), "exp", 1e300)) == IdTokenFailure::malformed);
    // A NumericDate may have a fraction.
    CHECK(verify(with(good_claims(), "exp", static_cast<double>(kNowSeconds) + 100.5)).expires_at ==
          kNow + seconds(100));
  }

  TEST_CASE("iat after now + skew is not_yet_valid, and iat is required") {
    CHECK(failure_of(with(good_claims(), "iat", kNowSeconds + 61)) ==
          IdTokenFailure::not_yet_valid);
    CHECK(message_of(with(good_claims(), "iat", kNowSeconds + 100)) ==
          "ID token issued 100 s in the future");
    CHECK(verify(with(good_claims(), "iat", kNowSeconds + 60)).subject == "248289761001");
    CHECK(failure_of(without(good_claims(), "iat")) == IdTokenFailure::malformed);
  }

  TEST_CASE("nbf, when present, must not be after now + skew") {
    CHECK(failure_of(with(good_claims(), "nbf", kNowSeconds + 120)) ==
          IdTokenFailure::not_yet_valid);
    CHECK(verify(with(good_claims(), "nbf", kNowSeconds + 60)).subject == "248289761001");
    CHECK(verify(with(good_claims(), "nbf", kNowSeconds - 600)).subject == "248289761001");
    CHECK(failure_of(with(good_claims(), "nbf", "now")) == IdTokenFailure::malformed);
  }

  TEST_CASE("the nonce must be this sign-in's") {
    CHECK(failure_of(with(good_claims(), "nonce", "n-0S6_WzA2Mk")) == IdTokenFailure::wrong_nonce);
    CHECK(failure_of(with(good_claims(), "nonce", "n-0S6_WzA2Mj0")) == IdTokenFailure::wrong_nonce);
    CHECK(failure_of(without(good_claims(), "nonce")) == IdTokenFailure::wrong_nonce);
    CHECK(failure_of(with(good_claims(), "nonce", 12)) == IdTokenFailure::wrong_nonce);
    IdTokenExpectations none_sent = expectations();
    none_sent.nonce = "";
    CHECK(failure_of(with(good_claims(), "nonce", ""), provider_keys(), none_sent) ==
          IdTokenFailure::wrong_nonce);
  }

  TEST_CASE("a token without a usable subject is malformed") {
    CHECK(failure_of(without(good_claims(), "sub")) == IdTokenFailure::malformed);
    CHECK(failure_of(with(good_claims(), "sub", "")) == IdTokenFailure::malformed);
  }

  TEST_CASE("what is not a signed JWT is malformed") {
    std::string token = rsa_key().sign(good_claims().dump());
    std::string header = token.substr(0, token.find('.'));
    std::string rest = token.substr(token.find('.'));
    auto header_of = [&](const std::string& json_text) {
      return base64url_encode(json_text) + rest;
    };
    for (const std::string& bad : {
             std::string(""),
             std::string("abc"),
             token + ".x.y",                             // JWE-shaped: five parts
             token.substr(0, token.rfind('.')),          // two parts
             "!" + token,                                // header not base64url
             header_of("[]"),                            // header not an object
             header_of(R"({"kid":"rsa-1"})"),            // no alg
             header_of(R"({"alg":256,"kid":"rsa-1"})"),  // alg not a string
             header_of(R"({"alg":"RS256","kid":7})"),    // kid not a string
             header_of(R"({"alg":"RS256","kid":"rsa-1","crit":["exp"]})"),
             std::string(70 * 1024, 'a'),
         }) {
      CAPTURE(bad.substr(0, 80));
      CHECK(failure_of(bad) == IdTokenFailure::malformed);
    }
  }

  TEST_CASE("each failure has its name for the audit log") {
    CHECK(std::string(to_string(IdTokenFailure::malformed)) == "malformed");
    CHECK(std::string(to_string(IdTokenFailure::wrong_algorithm)) == "wrong_algorithm");
    CHECK(std::string(to_string(IdTokenFailure::wrong_nonce)) == "wrong_nonce");
  }
}

}  // namespace authsvc
