#include "authsvc/web/safe_next.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_CASE("safe_next keeps paths of this site and nothing else") {
  CHECK(safe_next("/accounts/alice-app") == "/accounts/alice-app");
  CHECK(safe_next("/queues?x=1#top") == "/queues?x=1#top");
  CHECK(safe_next("/") == "/");
  for (std::string_view bad :
       {"", "accounts", "https://evil.example/", "//evil.example/", "/\\evil.example",
        "/%0d%0aSet-Cookie:x", "/a b", "/a\tb", "/a\r\nLocation: x", "javascript:alert(1)",
        "\\\\evil.example", "/caf\xc3\xa9", "/a\\b"}) {
    CAPTURE(bad);
    if (std::string_view(bad).find('%') != std::string_view::npos) {
      // Percent-encoded bytes stay encoded: the browser sees a path.
      CHECK(safe_next(bad) == bad);
    } else {
      CHECK(safe_next(bad) == "/accounts");
    }
  }
  CHECK(safe_next(std::string(513, '/').replace(0, 2, "/a")) == "/accounts");
  CHECK(safe_next("https://evil.example/", "/") == "/");
}

}  // namespace authsvc
