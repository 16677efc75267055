#include "authsvc/core/node_name.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_CASE("a node name is 1 to 64 printable ASCII characters, no space, quote or backslash") {
  for (const std::string& good :
       {std::string("pulse-1"), std::string("pulse-1.example.org:8000"), std::string("[::1]:8000"),
        std::string("a"), std::string(64, 'n'), std::string("node_2/b@c!~")}) {
    CAPTURE(good);
    CHECK(node_name_problem(good).empty());
  }
  CHECK(node_name_problem("") == "a node name has 1 to 64 characters, not none");
  CHECK(node_name_problem(std::string(65, 'n')) == "a node name has 1 to 64 characters, not 65");
  for (const std::string& bad :
       {std::string("pulse 1"), std::string("pulse\"1"), std::string("pulse'1"),
        std::string("pulse\\1"), std::string("pulse\t1"), std::string("pulse\n"),
        std::string("pulse\x7f"), std::string("p\xc3\xa9"),
        std::string("pulse\0"
                    "1",
                    7)}) {
    CAPTURE(bad);
    CHECK(node_name_problem(bad) ==
          "a node name is printable ASCII without a space, quote or backslash");
  }
}

TEST_CASE("the default node name is the host and the port it listens on, or the host alone") {
  CHECK(default_node_name("pulse-1.example.org", 8000) == "pulse-1.example.org:8000");
  CHECK(default_node_name("pulse-1", std::nullopt) == "pulse-1");
}

}  // namespace authsvc
