#include <doctest/doctest.h>

#include "authsvc/core/form.h"

namespace authsvc {

TEST_CASE("path_segment keeps a value one path segment") {
  CHECK(path_segment("alice-app") == "alice-app");
  CHECK(path_segment("A.z_0~9") == "A.z_0~9");
  CHECK(path_segment("") == "");
  CHECK(path_segment("a/b?c#d e%f") == "a%2Fb%3Fc%23d%20e%25f");
  CHECK(path_segment("x&y=z;+'\"<>") == "x%26y%3Dz%3B%2B%27%22%3C%3E");
  CHECK(path_segment("a\\b\r\n\t") == "a%5Cb%0D%0A%09");
  CHECK(path_segment(std::string_view("a\0b", 3)) == "a%00b");
  CHECK(path_segment("caf\xc3\xa9") == "caf%C3%A9");  // each byte of UTF-8
  CHECK(path_segment("\xff") == "%FF");
  // A browser resolves these against the path instead of sending them.
  CHECK(path_segment(".") == "%2E");
  CHECK(path_segment("..") == "%2E%2E");
  CHECK(path_segment("...") == "...");
  CHECK(path_segment("../x") == "..%2Fx");
}

}  // namespace authsvc
