#include "authsvc/import/import_plan.h"

#include <doctest/doctest.h>

#include <set>

#include "authsvc/core/error.h"

namespace authsvc {
namespace {

// From tests/data/rabbit-password-vectors.json (Python's hashlib): "guest"
// under a zero salt, SHA-256; and the empty password, MD5.
const char* const kGuestSha256 = "AAAAAPEoQ8a3jY6DABRiJzkoKooQbXiBp2iGLke7d+FVKzJx";

BrokerUser user(std::string name, std::string hash = kGuestSha256,
                std::optional<std::string> algorithm = "rabbit_password_hashing_sha256",
                std::vector<std::string> tags = {}) {
  BrokerUser u;
  u.name = std::move(name);
  u.password_hash = std::move(hash);
  u.hashing_algorithm = std::move(algorithm);
  u.tags = std::move(tags);
  return u;
}

BrokerPermission grant(std::string name, std::string vhost = "/") {
  return BrokerPermission{std::move(name), std::move(vhost), ".*", ".*", ".*"};
}

bool nobody(const std::string&) { return false; }

std::string reason_of(const ImportPlan& plan, const std::string& name) {
  for (const SkippedUser& s : plan.skipped) {
    if (s.name == name) return s.reason;
  }
  return "";
}

}  // namespace

TEST_SUITE("import_plan") {
  TEST_CASE("a user keeps its password hash, tags and vhost grants, and has no owner") {
    Definitions d;
    d.vhosts = {"/", "v2"};
    d.users = {user("alice", kGuestSha256, "rabbit_password_hashing_sha256",
                    {"monitoring", "management", "monitoring"})};
    d.permissions = {grant("alice", "v2"), grant("alice", "/")};
    ImportPlan plan = plan_import(d, nobody);
    REQUIRE(plan.users.size() == 1);
    const ImportedUser& alice = plan.users[0];
    CHECK(alice.name == "alice");
    CHECK(alice.tags == std::vector<std::string>{"management", "monitoring"});
    CHECK(alice.vhosts == std::vector<std::string>{"/", "v2"});
    CHECK(alice.credential.scheme == CredentialScheme::rabbit_sha256);
    CHECK(alice.credential.legacy());
    CHECK(credential_matches("guest", alice.credential));
    CHECK_FALSE(credential_matches("guest1", alice.credential));
    CHECK(plan.skipped.empty());
    CHECK(plan.notes.empty());
  }

  TEST_CASE("each user is imported or skipped with its reason, and none is dropped") {
    Definitions d;
    d.vhosts = {"/"};
    BrokerUser clear = user("clear");
    clear.password_hash.reset();
    clear.has_clear_password = true;
    BrokerUser x509 = user("x509");
    x509.password_hash.reset();
    d.users = {
        user("alice"),
        user("guest", kGuestSha256, "rabbit_password_hashing_sha256", {"administrator"}),
        user("9lives"),
        user("has space"),
        user("bcrypt", "whatever, not checked", "rabbit_password_hashing_bcrypt"),
        user("tokenish", kGuestSha256, "token"),
        user("blank", ""),
        x509,
        clear,
        user("taken"),
        user("nowhere"),
    };
    for (const BrokerUser& u : d.users) {
      if (u.name != "nowhere") d.permissions.push_back(grant(u.name));
    }
    ImportPlan plan = plan_import(d, [](const std::string& name) { return name == "taken"; });
    REQUIRE(plan.users.size() == 1);
    CHECK(plan.users[0].name == "alice");
    CHECK(plan.users.size() + plan.skipped.size() == d.users.size());
    CHECK(reason_of(plan, "guest").find("tagged administrator") == 0);
    CHECK(reason_of(plan, "9lives").find("not a name authsvc accepts") == 0);
    CHECK(reason_of(plan, "has space").find("not a name authsvc accepts") == 0);
    CHECK(reason_of(plan, "bcrypt").find("rabbit_password_hashing_bcrypt") != std::string::npos);
    CHECK(reason_of(plan, "bcrypt").find("could not log in") != std::string::npos);
    CHECK(reason_of(plan, "tokenish").find("'token' is not one authsvc knows") !=
          std::string::npos);
    CHECK(reason_of(plan, "blank").find("has no password") == 0);
    CHECK(reason_of(plan, "x509").find("has no password") == 0);
    CHECK(reason_of(plan, "clear").find("clear-text password") != std::string::npos);
    CHECK(reason_of(plan, "taken") == "already in authsvc: left as it is");
    CHECK(reason_of(plan, "nowhere").find("has permissions on no vhost") == 0);
    // Sorted by name.
    for (std::size_t i = 1; i < plan.skipped.size(); ++i) {
      CHECK(plan.skipped[i - 1].name < plan.skipped[i].name);
    }
  }

  TEST_CASE("a damaged hash refuses the whole file, naming the user, even a skipped one") {
    for (const std::string& damaged :
         {std::string("not base64!"), std::string(kGuestSha256) + "AAAA",
          std::string(kGuestSha256).substr(4)}) {
      for (const std::vector<std::string>& tags :
           {std::vector<std::string>{}, std::vector<std::string>{"administrator"}}) {
        Definitions d;
        d.vhosts = {"/"};
        d.users = {user("alice"), user("bob", damaged, "rabbit_password_hashing_sha256", tags)};
        d.permissions = {grant("alice"), grant("bob")};
        CAPTURE(damaged);
        CHECK_THROWS_WITH_AS(plan_import(d, nobody), doctest::Contains("user 'bob'"), Error);
      }
    }
    // A SHA-256 hash said to be SHA-512 has the wrong length.
    Definitions d;
    d.vhosts = {"/"};
    d.users = {user("alice", kGuestSha256, "rabbit_password_hashing_sha512")};
    d.permissions = {grant("alice")};
    CHECK_THROWS_WITH_AS(plan_import(d, nobody),
                         doctest::Contains("rabbit_password_hashing_sha512"), Error);
  }

  TEST_CASE("a name given twice refuses the file") {
    Definitions d;
    d.vhosts = {"/"};
    d.users = {user("alice"), user("alice")};
    CHECK_THROWS_WITH_AS(plan_import(d, nobody), doctest::Contains("appears twice"), Error);
  }

  TEST_CASE("without hashing_algorithm, RabbitMQ's rule: MD5 before 3.6, SHA-256 since") {
    CHECK(default_hashing_algorithm("3.5.7") == "rabbit_password_hashing_md5");
    CHECK(default_hashing_algorithm("3.0.0") == "rabbit_password_hashing_md5");
    CHECK(default_hashing_algorithm("3.6.0") == "rabbit_password_hashing_sha256");
    CHECK(default_hashing_algorithm("3.10.8") == "rabbit_password_hashing_sha256");
    CHECK(default_hashing_algorithm("") == "rabbit_password_hashing_sha256");
    Definitions d;
    d.vhosts = {"/"};
    d.users = {user("alice", kGuestSha256, std::nullopt)};
    d.permissions = {grant("alice")};
    d.rabbit_version = "3.10.8";
    CHECK(plan_import(d, nobody).users.at(0).credential.scheme == CredentialScheme::rabbit_sha256);
    // The same 36-byte hash in a 3.5 export would be MD5's: the wrong length.
    d.rabbit_version = "3.5.7";
    CHECK_THROWS_AS(plan_import(d, nobody), Error);
  }

  TEST_CASE("what cannot be kept is noted: a tag authsvc refuses, a vhost the file lacks") {
    Definitions d;
    d.vhosts = {"/"};
    d.users = {
        user("alice", kGuestSha256, "rabbit_password_hashing_sha256", {"management", "bad tag!"})};
    d.permissions = {grant("alice"), grant("alice", "gone")};
    ImportPlan plan = plan_import(d, nobody);
    REQUIRE(plan.users.size() == 1);
    CHECK(plan.users[0].tags == std::vector<std::string>{"management"});
    CHECK(plan.users[0].vhosts == std::vector<std::string>{"/"});
    REQUIRE(plan.notes.size() == 2);
    CHECK(plan.notes[0].text.find("tag 'bad tag!'") == 0);
    CHECK(plan.notes[1].text.find("vhost 'gone', which the file does not define") !=
          std::string::npos);
    // With only a vhost the file lacks, the user has none.
    d.permissions = {grant("alice", "gone")};
    plan = plan_import(d, nobody);
    CHECK(plan.users.empty());
    CHECK(reason_of(plan, "alice").find("has permissions on no vhost") == 0);
  }
}

}  // namespace authsvc
