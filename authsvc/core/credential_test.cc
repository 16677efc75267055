#include "authsvc/core/credential.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "authsvc/core/error.h"
#include "authsvc/core/text.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

// A vector with its scheme.
struct Vector : testing::RabbitPasswordVector {
  CredentialScheme scheme;
};

std::vector<Vector> load_vectors() {
  std::vector<Vector> out;
  for (const testing::RabbitPasswordVector& v : testing::rabbit_password_vectors()) {
    std::optional<CredentialScheme> scheme = credential_scheme_from_string(v.algorithm);
    REQUIRE(scheme);
    out.push_back(Vector{v, *scheme});
  }
  return out;
}

// The first `size` bytes of `data`, in lower-case hex.
std::string hex(const std::uint8_t* data, std::size_t size) {
  return hex_encode(std::string_view(reinterpret_cast<const char*>(data), size));
}

const CredentialScheme kRabbitSchemes[] = {
    CredentialScheme::rabbit_sha256, CredentialScheme::rabbit_sha512, CredentialScheme::rabbit_md5};

}  // namespace

TEST_SUITE("credential") {
  TEST_CASE("the vectors cover every RabbitMQ algorithm, the empty, a UTF-8 and a long password") {
    std::vector<Vector> vectors = load_vectors();
    for (CredentialScheme scheme : kRabbitSchemes) {
      CAPTURE(to_string(scheme));
      bool empty = false, utf8 = false, long_one = false;
      for (const Vector& v : vectors) {
        if (v.scheme != scheme) continue;
        empty |= v.password.empty();
        utf8 |= v.password.find('\xe2') != std::string::npos;
        long_one |= v.password.size() >= 1000;
      }
      CHECK(empty);
      CHECK(utf8);
      CHECK(long_one);
    }
  }

  TEST_CASE("each password matches the hash hashlib made of it, salt first, nothing else does") {
    std::vector<Vector> vectors = load_vectors();
    REQUIRE(vectors.size() >= 15);
    for (const Vector& v : vectors) {
      CAPTURE(v.algorithm);
      CAPTURE(v.password_hash);
      Credential c = credential_from_rabbit_hash(v.scheme, v.password_hash);
      CHECK(c.scheme == v.scheme);
      CHECK(c.legacy());
      REQUIRE(c.hash.size() == stored_hash_size(v.scheme));
      CHECK(hex(c.hash.data(), 4) == v.salt_hex);
      CHECK(credential_matches(v.password, c));

      CHECK_FALSE(credential_matches(v.password + "x", c));
      CHECK_FALSE(credential_matches("x" + v.password, c));
      if (!v.password.empty()) {
        std::string off_by_one = v.password;
        off_by_one.back() = static_cast<char>(off_by_one.back() ^ 1);
        CHECK_FALSE(credential_matches(off_by_one, c));
        CHECK_FALSE(credential_matches(v.password.substr(0, v.password.size() - 1), c));
        CHECK_FALSE(credential_matches("", c));
      }
      // The salt is part of what is hashed: the digest alone is not enough.
      Credential other_salt = c;
      other_salt.hash[0] ^= 1;
      CHECK_FALSE(credential_matches(v.password, other_salt));
      // Another vector's password (a different one) never matches.
      for (const Vector& w : vectors) {
        if (w.password != v.password) CHECK_FALSE(credential_matches(w.password, c));
      }
    }
  }

  TEST_CASE("stored sizes: 4 bytes of salt and the digest") {
    CHECK(stored_hash_size(CredentialScheme::rabbit_sha256) == 36);
    CHECK(stored_hash_size(CredentialScheme::rabbit_sha512) == 68);
    CHECK(stored_hash_size(CredentialScheme::rabbit_md5) == 20);
    CHECK(stored_hash_size(CredentialScheme::token) == 32);
  }

  TEST_CASE("a hash of the wrong length for its algorithm is refused, naming the algorithm") {
    std::vector<Vector> vectors = load_vectors();
    for (const Vector& v : vectors) {
      for (CredentialScheme scheme : kRabbitSchemes) {
        if (scheme == v.scheme) continue;
        CAPTURE(v.algorithm);
        CAPTURE(to_string(scheme));
        std::string message;
        try {
          credential_from_rabbit_hash(scheme, v.password_hash);
        } catch (const Error& e) {
          message = e.what();
        }
        CHECK(message.find(to_string(scheme)) != std::string::npos);
      }
    }
  }

  TEST_CASE("text that is not canonical padded base64 is refused") {
    std::vector<Vector> vectors = load_vectors();
    const Vector& v = vectors.front();
    REQUIRE(v.scheme == CredentialScheme::rabbit_sha256);
    const std::string& good = v.password_hash;
    REQUIRE(good.back() != '=');  // 36 bytes: 48 characters, no padding
    std::string with_padding;
    for (const Vector& w : vectors) {
      if (w.password_hash.back() == '=') {
        with_padding = w.password_hash;
        CAPTURE(w.algorithm);
        CHECK_NOTHROW(credential_from_rabbit_hash(w.scheme, w.password_hash));
        std::string unpadded = w.password_hash;
        while (unpadded.back() == '=') unpadded.pop_back();
        CHECK_THROWS_AS(credential_from_rabbit_hash(w.scheme, unpadded), Error);
        CHECK_THROWS_AS(credential_from_rabbit_hash(w.scheme, w.password_hash + "="), Error);
      }
    }
    REQUIRE_FALSE(with_padding.empty());  // md5 (20 bytes) and sha512 (68) are padded

    std::vector<std::string> bad = {
        "",
        good.substr(0, good.size() - 4),  // 33 bytes
        good + "AAAA",                    // 39 bytes
        " " + good.substr(1),
        good.substr(0, 20) + " " + good.substr(21),
        good.substr(0, 47) + "\n",
        good.substr(0, 24) + "\n" + good.substr(24, 23),
        good.substr(0, 47) + "-",  // base64url, not base64
        good.substr(0, 47) + "_",
        good.substr(0, 47) + "!",
        good.substr(0, 46) + "==",  // padding where a 36-byte text has none
        std::string(47, 'A') + '\0',
    };
    for (const std::string& text : bad) {
      CAPTURE(text);
      CHECK_THROWS_AS(credential_from_rabbit_hash(CredentialScheme::rabbit_sha256, text), Error);
    }
  }

  TEST_CASE("a token's credential is its SHA-256 and matches the token alone") {
    Credential c = token_credential("a-token-of-forty-three-characters-000000000");
    CHECK_FALSE(c.legacy());
    CHECK(c.hash.size() == 32);
    CHECK(credential_matches("a-token-of-forty-three-characters-000000000", c));
    CHECK_FALSE(credential_matches("a-token-of-forty-three-characters-000000001", c));
    CHECK_THROWS(credential_from_rabbit_hash(CredentialScheme::token, std::string(44, 'A')));
  }

  TEST_CASE("a stored credential of the wrong size never matches") {
    Vector v = load_vectors().front();
    Credential c = credential_from_rabbit_hash(v.scheme, v.password_hash);
    c.hash.pop_back();
    CHECK_FALSE(credential_matches(v.password, c));
    c.hash.clear();
    CHECK_FALSE(credential_matches(v.password, c));
    CHECK_FALSE(credential_matches("", Credential{CredentialScheme::token, {}}));
  }

  TEST_CASE("scheme names are RabbitMQ's module names and round-trip") {
    for (CredentialScheme scheme :
         {CredentialScheme::token, CredentialScheme::rabbit_sha256, CredentialScheme::rabbit_sha512,
          CredentialScheme::rabbit_md5}) {
      CHECK(credential_scheme_from_string(to_string(scheme)) == scheme);
    }
    CHECK(to_string(CredentialScheme::rabbit_sha256) == "rabbit_password_hashing_sha256");
    CHECK_FALSE(credential_scheme_from_string("rabbit_password_hashing_bcrypt"));
    CHECK_FALSE(credential_scheme_from_string("RABBIT_PASSWORD_HASHING_SHA256"));
    CHECK_FALSE(credential_scheme_from_string(""));
  }
}

}  // namespace authsvc
