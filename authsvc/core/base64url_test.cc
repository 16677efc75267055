#include "authsvc/core/base64url.h"

#include <doctest/doctest.h>

#include <string>

namespace authsvc {

TEST_SUITE("base64url") {
  TEST_CASE("RFC 4648's test vectors, without padding") {
    // RFC 4648 section 10; base64url differs from base64 only in 62 and 63.
    CHECK(base64url_encode("") == "");
    CHECK(base64url_encode("f") == "Zg");
    CHECK(base64url_encode("fo") == "Zm8");
    CHECK(base64url_encode("foo") == "Zm9v");
    CHECK(base64url_encode("foob") == "Zm9vYg");
    CHECK(base64url_encode("fooba") == "Zm9vYmE");
    CHECK(base64url_encode("foobar") == "Zm9vYmFy");
    for (const char* text : {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"}) {
      CAPTURE(text);
      std::optional<std::string> bytes = base64url_decode(text);
      REQUIRE(bytes);
      CHECK(base64url_encode(*bytes) == text);
    }
  }

  TEST_CASE("'-' and '_' stand for 62 and 63, where base64 has '+' and '/'") {
    CHECK(base64url_encode("\xfb\xff") == "-_8");
    CHECK(base64url_decode("-_8") == std::string("\xfb\xff"));
    CHECK(base64url_decode("+/8") == std::nullopt);
  }

  TEST_CASE("every byte value round-trips") {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (std::size_t n = 0; n <= all.size(); n += 37) {
      CHECK(base64url_decode(base64url_encode(all.substr(0, n))) == all.substr(0, n));
    }
  }

  TEST_CASE("decoding refuses padding, white space, other characters and a lone character") {
    for (const char* bad :
         {"Zg==", "Zm8=", "Zm9v\n", " Zm9v", "Zm 9v", "Zm9v.", "Z", "Zm9vY", "Zm9v\x80"}) {
      CAPTURE(bad);
      CHECK(base64url_decode(bad) == std::nullopt);
    }
    CHECK(base64url_decode(std::string_view("Zm\0v", 4)) == std::nullopt);
  }

  TEST_CASE("decoding refuses a non-canonical last character (unused bits set)") {
    // "Zg" is "f"; "Zh" has the same 8 bits and a 1 in the 4 unused ones.
    CHECK(base64url_decode("Zh") == std::nullopt);
    CHECK(base64url_decode("Zm9") == std::nullopt);  // "Zm8" is "fo"
    CHECK(base64url_decode("Zm8") == std::string("fo"));
  }
}

}  // namespace authsvc
