#include "authsvc/web/claims.h"

#include <doctest/doctest.h>

#include "authsvc/web/oidc_error.h"

namespace authsvc {

TEST_SUITE("claims") {
  TEST_CASE("strings, booleans and arrays of strings are claims, other values are left out") {
    IdentityClaims c = parse_identity_claims(R"({
      "sub": "248289761001", "email": "Jane@Example.org", "email_verified": true,
      "groups": ["admins", "pulse"], "empty": [], "hd": "example.org", "active": false,
      "age": 42, "ratio": 0.5, "address": {"country": "NZ"}, "nothing": null,
      "mixed": ["a", 1], "nested": [["a"]]})",
                                             "ID token");
    CHECK(c.subject == "248289761001");
    CHECK(c.email == "Jane@Example.org");
    CHECK(c.email_verified == true);
    const ClaimMap expected = {{"sub", {"248289761001"}},
                               {"email", {"Jane@Example.org"}},
                               {"email_verified", {"true"}},
                               {"groups", {"admins", "pulse"}},
                               {"empty", {}},
                               {"hd", {"example.org"}},
                               {"active", {"false"}}};
    CHECK(c.claims == expected);
  }

  TEST_CASE("email_verified may be the strings true and false, anything else is unknown") {
    auto verified = [](const std::string& value) {
      return parse_identity_claims(R"({"sub":"s","email_verified":)" + value + "}", "userinfo")
          .email_verified;
    };
    CHECK(verified("true") == true);
    CHECK(verified("false") == false);
    CHECK(verified(R"("true")") == true);
    CHECK(verified(R"("false")") == false);
    CHECK(verified(R"("yes")") == std::nullopt);
    CHECK(verified("1") == std::nullopt);
    CHECK(verified("null") == std::nullopt);
    CHECK(parse_identity_claims(R"({"sub":"s"})", "userinfo").email_verified == std::nullopt);
  }

  TEST_CASE("an email that is not a string is no email") {
    CHECK(parse_identity_claims(R"({"sub":"s","email":["a@b"]})", "userinfo").email == "");
  }

  TEST_CASE("no object, or no usable subject, is an OidcError that names the source") {
    for (const char* bad :
         {"", "[]", R"("sub")", R"({})", R"({"sub":7})", R"({"sub":""})", R"({"sub":"a\nb"})"}) {
      CAPTURE(bad);
      CHECK_THROWS_WITH_AS(parse_identity_claims(bad, "userinfo"), doctest::Contains("userinfo: "),
                           OidcError);
    }
    CHECK_THROWS_AS(parse_identity_claims(R"({"sub":")" + std::string(256, 'a') + R"("})", "x"),
                    OidcError);
    CHECK(parse_identity_claims(R"({"sub":")" + std::string(255, 'a') + R"("})", "x")
              .subject.size() == 255);
  }
}

}  // namespace authsvc
