#include "authsvc/core/names.h"

#include <doctest/doctest.h>

#include <string>

namespace authsvc {
namespace {

TEST_SUITE("names") {
  TEST_CASE("user names of a letter then letters, digits, '.', '_' or '-' are valid") {
    const std::string valid[] = {"a",
                                 "alice",
                                 "a.b",
                                 "A-b_c.9",
                                 "Z",
                                 "a.",
                                 "a-",
                                 "a_",
                                 "a..b",
                                 "bob99",
                                 "aB9",
                                 std::string(64, 'x'),
                                 "a" + std::string(63, '9')};
    for (const std::string& name : valid) {
      CAPTURE(name);
      CHECK(is_valid_user_name(name));
      CHECK(user_name_problem(name).empty());
    }
  }

  TEST_CASE("user names that could reach into a pattern or another prefix are refused") {
    const std::string invalid[] = {
        "",
        std::string(65, 'x'),
        "a" + std::string(64, 'b'),
        "1abc",
        ".a",
        "_a",
        "-a",
        "a/b",
        "a b",
        " a",
        "a ",
        "a*",
        "a.*",
        "a+",
        "a\nb",
        "a\n",
        "a\tb",
        "\xC3\xA9",   // é in UTF-8
        "a\xC3\xA9",  // aé
        "\xE9",       // é in Latin-1
        std::string("a\0b", 3),
        std::string("a\0", 2),
        "a{user}",
        "a:b",
        "a@b",
        "a%2Fb",
        "a\\b",
    };
    for (const std::string& name : invalid) {
      CAPTURE(name);
      CHECK_FALSE(is_valid_user_name(name));
      CHECK_FALSE(user_name_problem(name).empty());
    }
  }

  TEST_CASE("user_name_problem gives a different reason for empty, long and bad characters") {
    std::string empty = user_name_problem("");
    std::string long_name = user_name_problem(std::string(65, 'x'));
    std::string bad_first = user_name_problem("1abc");
    std::string bad_char = user_name_problem("a/b");
    CHECK_FALSE(empty.empty());
    CHECK_FALSE(long_name.empty());
    CHECK_FALSE(bad_first.empty());
    CHECK_FALSE(bad_char.empty());
    CHECK(empty != long_name);
    CHECK(long_name != bad_char);
    CHECK(long_name.find("64") != std::string::npos);
    CHECK(empty.find('\n') == std::string::npos);
    CHECK(bad_char.find('\n') == std::string::npos);
  }

  TEST_CASE("tags like management, administrator and group:dev are valid") {
    const std::string valid[] = {"management", "administrator", "monitoring",        "group:dev",
                                 "a",          "a.b_c-d:e",     std::string(64, 't')};
    for (const std::string& tag : valid) {
      CAPTURE(tag);
      CHECK(is_valid_tag(tag));
    }
  }

  TEST_CASE("tags that are empty, too long or would split or inject are refused") {
    const std::string invalid[] = {
        "",  std::string(65, 't'),   "a b", "a,b",  "a\nb", "a\tb", "a/b", "a*",
        "é", std::string("a\0b", 3), "a'b", "a\"b", "a=b"};
    for (const std::string& tag : invalid) {
      CAPTURE(tag);
      CHECK_FALSE(is_valid_tag(tag));
    }
  }

  TEST_CASE("vhosts of 1 to 255 bytes without control characters are valid") {
    const std::string valid[] = {"/",
                                 "prod",
                                 "a b",
                                 "a/b/c",
                                 "\xC3\xA9t\xC3\xA9",
                                 "~!@#$%^&*()",
                                 "x",
                                 std::string(255, 'v')};
    for (const std::string& vhost : valid) {
      CAPTURE(vhost);
      CHECK(is_valid_vhost(vhost));
    }
  }

  TEST_CASE("vhosts that are empty, longer than 255 bytes or hold control characters are refused") {
    const std::string invalid[] = {"",
                                   std::string(256, 'v'),
                                   "/" + std::string(255, 'v'),
                                   std::string("a\0b", 3),
                                   std::string(1, '\0'),
                                   "a\nb",
                                   "a\rb",
                                   "\t",
                                   "a\x01",
                                   "\x1f",
                                   "a\x7f"
                                   "b"};
    for (const std::string& vhost : invalid) {
      CAPTURE(vhost);
      CHECK_FALSE(is_valid_vhost(vhost));
    }
  }

  TEST_CASE("a vhost's length limit counts bytes, not characters") {
    // 128 two-byte characters: 256 bytes.
    std::string two_byte;
    for (int i = 0; i < 128; ++i) two_byte += "\xC3\xA9";
    CHECK_FALSE(is_valid_vhost(two_byte));
    CHECK(is_valid_vhost(two_byte.substr(0, 254)));
  }
}

}  // namespace
}  // namespace authsvc
