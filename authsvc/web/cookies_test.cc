#include "authsvc/web/cookies.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_CASE("cookie_value finds one cookie among several, and refuses a repeated name") {
  CHECK(cookie_value("a=1; authsvc_session=abc; b=2", "authsvc_session") == "abc");
  CHECK(cookie_value("authsvc_session=abc", "authsvc_session") == "abc");
  CHECK(cookie_value("  authsvc_session = \"abc\" ;", "authsvc_session") == "abc");
  CHECK(cookie_value("xauthsvc_session=abc; authsvc_sessionx=def", "authsvc_session") ==
        std::nullopt);
  CHECK(cookie_value("", "authsvc_session") == std::nullopt);
  CHECK(cookie_value("authsvc_session", "authsvc_session") == std::nullopt);
  CHECK(cookie_value("authsvc_session=", "authsvc_session") == "");
  // Two of them: one may have been planted (by a sibling host, over http).
  CHECK(cookie_value("authsvc_session=abc; authsvc_session=evil", "authsvc_session") ==
        std::nullopt);
}

TEST_CASE("cookies are HttpOnly and SameSite=Lax, and Secure with the __Host- prefix over https") {
  CookieJar plain{false};
  CHECK(plain.name("authsvc_session") == "authsvc_session");
  CHECK(plain.set("authsvc_session", "v", std::chrono::seconds(60)) ==
        "authsvc_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
  CHECK(plain.clear("authsvc_session") ==
        "authsvc_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");

  CookieJar secure{true};
  CHECK(secure.name("authsvc_session") == "__Host-authsvc_session");
  CHECK(secure.set("authsvc_session", "v", std::chrono::seconds(60)) ==
        "__Host-authsvc_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
  CHECK(secure.clear("authsvc_session") ==
        "__Host-authsvc_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
}

}  // namespace authsvc
