#include "authsvc/core/user_table.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "authsvc/core/snapshot.h"

namespace authsvc {
namespace {

using Clock = std::chrono::system_clock;

UserRecord plain_user(const std::string& name) {
  UserRecord u;
  u.name = name;
  u.credential = token_credential(name + "-token");
  u.active = true;
  u.tags = "monitoring";
  u.vhosts = {"/"};
  return u;
}

// Every field set, none to its default: a field the table drops or mixes
// up shows.
UserRecord full_user() {
  UserRecord u;
  u.name = "rotating";
  u.credential = Credential{CredentialScheme::rabbit_sha512, std::vector<std::uint8_t>(68, 5)};
  u.previous = token_credential("old-token");
  // Sub-millisecond on purpose: the table keeps the clock's own ticks.
  u.previous_valid_until = Clock::time_point(Clock::duration(1'700'000'000'123'456'789));
  u.expires_at = Clock::time_point(Clock::duration(1'800'000'000'000'000'001));
  u.active = true;
  u.tags = "administrator management";
  u.vhosts = {"/", "prod", "staging"};
  return u;
}

void check_same(const UserView& v, const UserRecord& r) {
  CHECK(v.name == r.name);
  CHECK(v.credential == r.credential);
  CHECK(v.previous.has_value() == r.previous.has_value());
  if (v.previous && r.previous) {
    CHECK(*v.previous == *r.previous);
    CHECK(v.previous_valid_until == r.previous_valid_until);
  }
  CHECK(v.expires_at == r.expires_at);
  CHECK(v.active == r.active);
  CHECK(v.tags == r.tags);
  CHECK(std::vector<std::string>(v.vhosts.begin(), v.vhosts.end()) == r.vhosts);
}

UserTable table_of(const std::vector<UserRecord>& users) {
  UserTableBuilder builder;
  for (const UserRecord& u : users) builder.add(u.view());
  return builder.build();
}

}  // namespace

TEST_CASE("user table: every field of a user comes back as it was added") {
  UserRecord full = full_user();
  UserRecord bare;
  bare.name = "bare";
  bare.credential = token_credential("t");
  UserTable table = table_of({plain_user("alice"), full, bare});
  REQUIRE(table.size() == 3);
  REQUIRE(table.find("rotating"));
  check_same(*table.find("rotating"), full);
  check_same(*table.find("alice"), plain_user("alice"));
  check_same(*table.find("bare"), bare);
  CHECK_FALSE(table.find("bare")->active);
  CHECK_FALSE(table.find("bare")->expires_at);
  CHECK(table.find("rotating")->has_vhost("staging"));
  CHECK_FALSE(table.find("rotating")->has_vhost("stag"));
  UserRecord back = to_record(*table.find("rotating"));
  CHECK(back.credential == full.credential);
  CHECK(back.previous == full.previous);
  CHECK(back.expires_at == full.expires_at);
  CHECK(back.vhosts == full.vhosts);
}

TEST_CASE("user table: names that are absent are not found") {
  UserTable table = table_of({plain_user("alice"), plain_user("bob")});
  CHECK_FALSE(table.find("carol"));
  CHECK_FALSE(table.find(""));
  CHECK_FALSE(table.find("alic"));
  CHECK_FALSE(table.find("alicee"));
  CHECK_FALSE(table.find("ALICE"));
  CHECK(table.find("alice"));
}

TEST_CASE("user table: an empty table finds nobody") {
  UserTable never_built;
  CHECK(never_built.size() == 0);
  CHECK_FALSE(never_built.find("alice"));
  UserTableBuilder builder;
  UserTable empty = builder.build();
  CHECK(empty.empty());
  CHECK_FALSE(empty.find(""));
  CHECK(to_records(empty).empty());
}

TEST_CASE("user table: tags and vhost lists are kept once each") {
  std::vector<UserRecord> users;
  for (int i = 0; i < 1000; ++i) {
    UserRecord u = plain_user("user" + std::to_string(i));
    if (i % 100 == 0) {
      u.tags = "management";
      u.vhosts = {"/", "other"};
    }
    // Not adjacent to its twin: found through the map, not the last one.
    if (i == 501) u.tags = "monitoring";
    users.push_back(u);
  }
  // Same strings, split differently: a list, not its concatenation.
  users[7].vhosts = {"ab", "c"};
  users[8].vhosts = {"a", "bc"};
  UserTable table = table_of(users);
  CHECK(table.distinct_tags() == 2);
  CHECK(table.distinct_vhost_lists() == 4);
  CHECK(table.find("user100")->tags == "management");
  CHECK(table.find("user100")->has_vhost("other"));
  CHECK(table.find("user101")->tags == "monitoring");
  CHECK_FALSE(table.find("user101")->has_vhost("other"));
  CHECK(table.find("user7")->has_vhost("ab"));
  CHECK(table.find("user8")->has_vhost("bc"));
  CHECK_FALSE(table.find("user8")->has_vhost("ab"));
  // The lists are shared: the views point at the same strings.
  CHECK(table.find("user1")->vhosts.data() == table.find("user2")->vhosts.data());
  CHECK(table.find("user1")->tags.data() == table.find("user999")->tags.data());
}

TEST_CASE("user table: a name added twice keeps the first, and says so") {
  UserRecord first = plain_user("alice");
  UserRecord second = plain_user("alice");
  second.credential = token_credential("another");
  second.active = false;
  UserTableBuilder builder;
  builder.add(first.view());
  builder.add(plain_user("bob").view());
  builder.add(second.view());
  UserTable table = builder.build();
  CHECK(builder.duplicate_count() == 1);
  CHECK(table.size() == 2);
  CHECK(table.find("alice")->credential == first.credential);
  CHECK(table.find("alice")->active);
  std::vector<UserRecord> records = to_records(table);
  REQUIRE(records.size() == 2);
  CHECK(records[0].name == "alice");
  CHECK(records[0].credential == first.credential);
  CHECK(records[1].name == "bob");
}

TEST_CASE("user table: 200,000 users are all found, in about 100 bytes each") {
  constexpr int kUsers = 200'000;
  UserTableBuilder builder;
  builder.reserve(kUsers, kUsers * 48);
  UserRecord u = plain_user("x");
  for (int i = 0; i < kUsers; ++i) {
    u.name = "user" + std::to_string(i);
    // A hash of its own for each, cheaper than SHA-256 200,000 times.
    for (std::size_t b = 0; b < u.credential.hash.size(); ++b) {
      u.credential.hash[b] = static_cast<std::uint8_t>(i >> (8 * (b % 4)));
    }
    builder.add(u.view());
  }
  UserTable table = builder.build();
  REQUIRE(table.size() == kUsers);
  int found = 0;
  int right = 0;
  for (int i = 0; i < kUsers; ++i) {
    std::string name = "user" + std::to_string(i);
    std::optional<UserView> v = table.find(name);
    if (!v) continue;
    ++found;
    right += v->name == name && v->credential.hash[1] == static_cast<std::uint8_t>(i >> 8);
  }
  CHECK(found == kUsers);
  CHECK(right == kUsers);
  CHECK_FALSE(table.find("user200000"));
  CHECK_FALSE(table.find("user-1"));
  CHECK(table.memory_bytes() / kUsers < 130);
}

TEST_CASE("snapshot: changed users shadow the table, and deleted ones are gone") {
  auto rules = std::make_shared<const Rules>(Rules::pulse_default());
  auto base = std::make_shared<const Snapshot>(
      std::vector<UserRecord>{plain_user("alice"), plain_user("bob")}, rules);
  UserRecord alice = plain_user("alice");
  alice.active = false;
  alice.tags = "changed";
  std::vector<UserChange> changes{{"alice", alice},
                                  {"bob", std::nullopt},
                                  {"carol", plain_user("carol")},
                                  {"dave", std::nullopt}};
  auto next = std::make_shared<const Snapshot>(base, changes);
  CHECK(next->user_count() == 2);  // alice and carol
  CHECK(next->changed_count() == 4);
  REQUIRE(next->find_user("alice"));
  CHECK_FALSE(next->find_user("alice")->active);
  CHECK(next->find_user("alice")->tags == "changed");
  CHECK_FALSE(next->find_user("bob"));
  CHECK(next->find_user("carol"));
  CHECK_FALSE(next->find_user("dave"));
  // The snapshot it was built on is unchanged.
  CHECK(base->find_user("alice")->active);
  CHECK(base->find_user("bob"));
  CHECK_FALSE(base->find_user("carol"));
}

TEST_CASE("snapshot: built from records with a name twice, the first one wins") {
  UserRecord second = plain_user("alice");
  second.tags = "second";
  Snapshot s({plain_user("alice"), second}, std::make_shared<const Rules>(Rules::pulse_default()));
  CHECK(s.user_count() == 1);
  CHECK(s.find_user("alice")->tags == "monitoring");
}

}  // namespace authsvc
