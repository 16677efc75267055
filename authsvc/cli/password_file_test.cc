#include "authsvc/cli/password_file.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tests/test_support.h"

namespace authsvc {

TEST_SUITE("password_file") {
  TEST_CASE("read_password_file returns the first line without its line ending") {
    testing::TempDir dir;
    std::string path = dir.file("pw");
    for (const char* text : {"p@ss word\n", "p@ss word", "p@ss word\r\n", "p@ss word\nsecond\n"}) {
      CAPTURE(text);
      testing::write_file(path, text);
      chmod(path.c_str(), 0600);
      CHECK(read_password_file(path) == "p@ss word");
    }
  }

  TEST_CASE("read_password_file refuses missing, empty and world-readable files") {
    testing::TempDir dir;
    std::string path = dir.file("pw");
    CHECK_THROWS_WITH_AS(read_password_file(path), doctest::Contains(path.c_str()),
                         PasswordFileError);
    for (const char* text : {"", "\n", "\r\nsecret\n"}) {
      CAPTURE(text);
      testing::write_file(path, text);
      chmod(path.c_str(), 0600);
      CHECK_THROWS_AS(read_password_file(path), PasswordFileError);
    }
    testing::write_file(path, "hunter2\n");
    chmod(path.c_str(), 0644);
    try {
      read_password_file(path);
      FAIL("accepted a world-readable file");
    } catch (const PasswordFileError& e) {
      CHECK(std::string(e.what()).find("readable by everyone") != std::string::npos);
      CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    }
    // Group-readable is fine: a service group may share the secret.
    chmod(path.c_str(), 0640);
    CHECK(read_password_file(path) == "hunter2");
  }

}  // TEST_SUITE

}  // namespace authsvc
