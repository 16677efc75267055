#include "authsvc/server/rules_file.h"

#include <doctest/doctest.h>

#include "tests/test_support.h"

namespace authsvc {

TEST_CASE("load_rules: the built-in rules without a path, a file's rules with one") {
  CHECK(load_rules("")->source() == Rules::pulse_default().source());
  testing::TempDir dir;
  std::string path = dir.file("my.rules");
  testing::write_file(path, "own-queue allow queue read queue/{user}/.+\n");
  CHECK(load_rules(path)->source() == path);
}

TEST_CASE("load_rules: an unreadable or broken file is a RulesError, one line") {
  testing::TempDir dir;
  std::string missing = dir.file("missing.rules");
  std::string unreadable = "cannot read rules file '" + missing + "': No such file or directory";
  CHECK_THROWS_WITH_AS(load_rules(missing), unreadable.c_str(), RulesError);
  std::string broken = dir.file("broken.rules");
  testing::write_file(broken, "# comment\nbroken allow queue read (\n");
  std::string invalid = broken + ":2: invalid pattern";
  CHECK_THROWS_WITH_AS(load_rules(broken), doctest::Contains(invalid.c_str()), RulesError);
}

}  // namespace authsvc
