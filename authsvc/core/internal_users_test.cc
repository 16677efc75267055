#include "authsvc/core/internal_users.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_CASE("internal users: exact names, each once, none by default") {
  InternalUsers none;
  CHECK(none.empty());
  CHECK_FALSE(none.contains("authsvc-guardian"));
  CHECK_FALSE(none.contains(""));

  InternalUsers some({"authsvc-web", "authsvc-guardian", "ops@example.org", "authsvc-web"});
  CHECK_FALSE(some.empty());
  CHECK(some.names() ==
        std::vector<std::string>{"authsvc-guardian", "authsvc-web", "ops@example.org"});
  CHECK(some.contains("authsvc-guardian"));
  CHECK(some.contains("ops@example.org"));
  // The broker compares names byte for byte, and so does this.
  CHECK_FALSE(some.contains("Authsvc-Guardian"));
  CHECK_FALSE(some.contains("authsvc-guardian "));
  CHECK_FALSE(some.contains("authsvc"));
  CHECK_FALSE(some.contains(""));
}

TEST_CASE("an internal user is any name the broker can send, not only an authsvc account's") {
  for (const char* good : {"authsvc-guardian", "a", "ops@example.org", "Ops Team", "café"}) {
    CAPTURE(good);
    CHECK(internal_user_problem(good).empty());
  }
  CHECK(internal_user_problem(std::string(255, 'a')).empty());
  CHECK(internal_user_problem("") == "a user name cannot be empty");
  CHECK(internal_user_problem(std::string(256, 'a')) == "a user name has at most 255 bytes");
  CHECK(internal_user_problem("ops\n") == "a user name cannot hold control characters");
  CHECK(internal_user_problem("ops\x7f") == "a user name cannot hold control characters");
  CHECK(internal_user_problem("op\xff") == "a user name must be UTF-8");
}

}  // namespace authsvc
