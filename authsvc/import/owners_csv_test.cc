#include "authsvc/import/owners_csv.h"

#include <doctest/doctest.h>

namespace authsvc {
namespace {

std::vector<std::string> errors_of(const OwnersFile& file) {
  std::vector<std::string> out;
  for (const OwnersError& e : file.errors) out.push_back(std::to_string(e.line) + ": " + e.reason);
  return out;
}

}  // namespace

TEST_SUITE("owners_csv") {
  TEST_CASE("account,email lines, with PostgreSQL's header, in order, with their line numbers") {
    OwnersFile file = parse_owners_csv(
        "account,email\nalice,alice@example.org\nalice,ops@example.org\n\nbob,Bob@Example.org\n");
    CHECK(file.errors.empty());
    REQUIRE(file.grants.size() == 3);
    CHECK(file.grants[0].line == 2);
    CHECK(file.grants[0].grant.user == "alice");
    CHECK(file.grants[0].grant.address == "alice@example.org");
    CHECK(file.grants[1].grant.address == "ops@example.org");
    CHECK(file.grants[2].line == 5);
    CHECK(file.grants[2].grant.address == "Bob@Example.org");
  }

  TEST_CASE("a BOM, CRLF line ends, quoted fields and no header are what spreadsheets write") {
    OwnersFile file = parse_owners_csv(
        "\xEF\xBB\xBF\"alice\",\"alice@example.org\"\r\nbob , bob@example.org\r\n");
    CHECK(file.errors.empty());
    REQUIRE(file.grants.size() == 2);
    CHECK(file.grants[0].line == 1);
    CHECK(file.grants[0].grant.user == "alice");
    CHECK(file.grants[1].grant.user == "bob");
    CHECK(file.grants[1].grant.address == "bob@example.org");
    // The header after a BOM is still the header.
    file = parse_owners_csv(
        "\xEF\xBB\xBF"
        "Account,Email\nalice,a@example.org");
    CHECK(file.errors.empty());
    CHECK(file.grants.size() == 1);
  }

  TEST_CASE("each bad line is reported with its number, and none is taken") {
    OwnersFile file = parse_owners_csv(
        "alice\n"                      // 1: a missing column
        "alice,a@example.org,extra\n"  // 2: one too many
        "alice,no-at-sign\n"           // 3
        "alice,a\x01@example.org\n"    // 4: a control character
        "9lives,a@example.org\n"       // 5: not an account name
        ",a@example.org\n"             // 6
        "alice,\n"                     // 7
        "alice,\"a@example.org\n"      // 8: unclosed quote
        "alice,a\"b@example.org\n"     // 9
        "account,email\n"              // 10: a header only on line 1
        "bob,bob@example.org\n");      // 11: fine
    std::vector<std::string> errors = errors_of(file);
    REQUIRE(errors.size() == 10);
    CHECK(errors[0] == "1: expected 2 columns, account,email; found 1");
    CHECK(errors[1] == "2: expected 2 columns, account,email; found 3");
    CHECK(errors[2].find("3: invalid owner address 'no-at-sign'") == 0);
    CHECK(errors[3].find("4: invalid owner address") == 0);
    CHECK(errors[3].find('\x01') == std::string::npos);
    CHECK(errors[4].find("5: invalid account name '9lives'") == 0);
    CHECK(errors[5] == "6: the account column is empty");
    CHECK(errors[6] == "7: the email column is empty");
    CHECK(errors[7] == "8: a quoted field has no closing quote");
    CHECK(errors[8] == "9: a quote inside an unquoted field");
    CHECK(errors[9].find("10: invalid owner address 'email'") == 0);
    REQUIRE(file.grants.size() == 1);
    CHECK(file.grants[0].line == 11);
  }

  TEST_CASE("unknown accounts are errors with their line numbers, in line order") {
    OwnersFile file = parse_owners_csv(
        "alice,a@example.org\nzed,z@example.org\nbad\n"
        "yan,y@example.org\n");
    check_owner_accounts(file, [](const std::string& name) { return name == "alice"; });
    std::vector<std::string> errors = errors_of(file);
    REQUIRE(errors.size() == 3);
    CHECK(errors[0] == "2: no such account 'zed' in authsvc");
    CHECK(errors[1].find("3: expected 2 columns") == 0);
    CHECK(errors[2] == "4: no such account 'yan' in authsvc");
  }

  TEST_CASE("an empty file, or a header alone, holds no grant and no error") {
    for (const char* text : {"", "\n\n", "account,email\n", "\xEF\xBB\xBF"}) {
      OwnersFile file = parse_owners_csv(text);
      CHECK(file.grants.empty());
      CHECK(file.errors.empty());
    }
  }
}

}  // namespace authsvc
