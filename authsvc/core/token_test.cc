#include "authsvc/core/token.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <set>
#include <string>

namespace authsvc {
namespace {

std::string hex(const TokenHash& hash) {
  std::string out;
  char buf[3];
  for (std::uint8_t b : hash) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

TEST_SUITE("token") {
  TEST_CASE("a generated token is 43 characters of unpadded base64url") {
    for (int i = 0; i < 200; ++i) {
      std::string token = generate_token();
      CAPTURE(token);
      REQUIRE(token.size() == 43);
      for (char c : token) REQUIRE(is_base64url_char(c));
    }
  }

  TEST_CASE("1000 generated tokens are all distinct") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(generate_token());
    CHECK(seen.size() == 1000);
  }

  TEST_CASE("generated tokens use the whole base64url alphabet, '-' and '_' included") {
    // 2000 tokens hold 86,000 characters: every one of the 64 appears
    // (each is missed with probability about e^-1300).
    std::set<char> seen;
    for (int i = 0; i < 2000; ++i) {
      for (char c : generate_token()) seen.insert(c);
    }
    CHECK(seen.size() == 64);
    CHECK(seen.count('-') == 1);
    CHECK(seen.count('_') == 1);
    CHECK(seen.count('+') == 0);
    CHECK(seen.count('/') == 0);
    CHECK(seen.count('=') == 0);
  }

  TEST_CASE("hash_token is SHA-256") {
    CHECK(hex(hash_token("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex(hash_token("")) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  TEST_CASE("hash_token hashes every byte, NUL included") {
    CHECK(hash_token(std::string("a\0b", 3)) != hash_token("a"));
    CHECK(hash_token(std::string("a\0b", 3)) != hash_token(std::string("a\0c", 3)));
  }

  TEST_CASE("token_matches accepts the token whose hash is stored") {
    std::string token = generate_token();
    TokenHash stored = hash_token(token);
    CHECK(token_matches(token, stored));
    CHECK(token_matches("abc", hash_token("abc")));
  }

  TEST_CASE("token_matches refuses near misses of the stored token") {
    std::string token = generate_token();
    TokenHash stored = hash_token(token);
    for (std::size_t i = 0; i < token.size(); ++i) {
      std::string changed = token;
      changed[i] = changed[i] == 'A' ? 'B' : 'A';
      CAPTURE(i);
      CHECK_FALSE(token_matches(changed, stored));
    }
    CHECK_FALSE(token_matches("", stored));
    CHECK_FALSE(token_matches(token + "\n", stored));
    CHECK_FALSE(token_matches(token + " ", stored));
    CHECK_FALSE(token_matches(token.substr(0, token.size() - 1), stored));
    CHECK_FALSE(token_matches(token.substr(0, 8), stored));
    CHECK_FALSE(token_matches(token + token, stored));
    CHECK_FALSE(token_matches(generate_token(), stored));
  }

  TEST_CASE("an all-zero stored hash matches no token, the empty one included") {
    TokenHash zero{};
    CHECK_FALSE(token_matches("", zero));
    CHECK_FALSE(token_matches(generate_token(), zero));
  }
}

}  // namespace
}  // namespace authsvc
