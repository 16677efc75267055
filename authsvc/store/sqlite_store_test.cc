#include "authsvc/store/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>

#include "authsvc/core/embedded_file.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::TempDir;

Actor test_actor() { return Actor{"cli", "tester"}; }

}  // namespace

TEST_CASE("opening a new database applies every migration, and reopening applies none") {
  TempDir dir;
  std::string path = dir.file("a.db");
  {
    SqliteStore store(path, test_actor(), OpenMode::create_if_missing);
    CHECK(store.schema_version() == static_cast<int>(embedded_migrations_count));
    testing::record_issued_token(store.add_user(NewUser{"alice", "", {}, {"/"}}));
  }
  SqliteStore again(path, test_actor(), OpenMode::existing);
  CHECK(again.schema_version() == static_cast<int>(embedded_migrations_count));
  CHECK(again.find_user("alice").has_value());
  SQLite::Database raw(path);
  CHECK(raw.execAndGet("PRAGMA journal_mode").getString() == "wal");
}

TEST_CASE("a database from a newer authsvc is refused, not used") {
  TempDir dir;
  std::string path = dir.file("a.db");
  { SqliteStore store(path, test_actor(), OpenMode::create_if_missing); }
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA user_version = 999");
  }
  CHECK_THROWS_WITH_AS(SqliteStore(path, test_actor(), OpenMode::existing),
                       doctest::Contains("newer than this authsvc"), StoreError);
}

TEST_CASE("a database that is not SQLite is refused with the path in the message") {
  TempDir dir;
  std::string path = dir.file("junk.db");
  testing::write_file(path,
                      "this is not a database, just text long enough to fill a header.....\n");
  CHECK_THROWS_WITH_AS(SqliteStore(path, test_actor(), OpenMode::existing),
                       doctest::Contains("junk.db"), StoreError);
}

TEST_CASE(
    "only an explicit create makes a missing database, and the error names the path and the fix") {
  TempDir dir;
  std::string path = dir.file("missing.db");
  std::string expected =
      "database '" + path + "' does not exist (create it with: authsvc init --db " + path + ")";
  CHECK_THROWS_WITH_AS(SqliteStore(path, test_actor()), expected.c_str(), StoreError);
  CHECK_FALSE(std::filesystem::exists(path));
  { SqliteStore created(path, test_actor(), OpenMode::create_if_missing); }
  CHECK(std::filesystem::exists(path));
}

TEST_CASE("users are added once, with a token stored only as its hash") {
  TempDir dir;
  std::string path = dir.file("a.db");
  SqliteStore store(path, test_actor(), OpenMode::create_if_missing);
  std::string token = store.add_user(
      NewUser{"alice", "alice@example.org", {"monitoring", "management"}, {"/", "staging"}});
  testing::record_issued_token(token);
  CHECK(token.size() == 43);
  CHECK_THROWS_WITH_AS(store.add_user(NewUser{"alice", "", {}, {"/"}}),
                       "user 'alice' already exists", StoreError);
  CHECK_THROWS_WITH_AS(store.add_user(NewUser{"9lives", "", {}, {"/"}}),
                       doctest::Contains("invalid user name '9lives'"), StoreError);
  CHECK_THROWS_WITH_AS(store.add_user(NewUser{"bob", "", {"bad tag"}, {"/"}}),
                       doctest::Contains("invalid tag"), StoreError);
  CHECK_THROWS_WITH_AS(store.add_user(NewUser{"bob", "", {}, {}}),
                       doctest::Contains("at least one vhost"), StoreError);

  std::optional<UserInfo> alice = store.find_user("alice");
  REQUIRE(alice);
  CHECK(alice->email == "alice@example.org");
  CHECK(alice->tags == std::vector<std::string>{"management", "monitoring"});
  CHECK(alice->vhosts == std::vector<std::string>{"/", "staging"});
  CHECK(alice->active);
  CHECK(alice->created_at.size() == 27);  // 2026-11-27T23:18:49.123456Z

  std::vector<UserRecord> records = store.load_users(nullptr);
  REQUIRE(records.size() == 1);
  CHECK(records[0].token_hash == hash_token(token));
  CHECK(records[0].tags == "management monitoring");

  // The clear token is nowhere in the file.
  std::string bytes = testing::read_file(path) + testing::read_file(path + "-wal");
  CHECK(bytes.find(token) == std::string::npos);
}

TEST_CASE("the database and its WAL are private to the service account") {
  TempDir dir;
  std::string path = dir.file("a.db");
  mode_t old = umask(077);
  {
    SqliteStore store(path, test_actor(), OpenMode::create_if_missing);
    testing::record_issued_token(store.add_user(NewUser{"alice", "", {}, {"/"}}));
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(stat((path + "-wal").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  umask(old);
}

TEST_CASE("rotate, disable, enable, set and delete change what a snapshot sees") {
  TempDir dir;
  SqliteStore store(dir.file("a.db"), test_actor(), OpenMode::create_if_missing);
  std::string first = store.add_user(NewUser{"alice", "", {}, {"/"}});
  std::string second = store.rotate_token("alice");
  testing::record_issued_tokens({first, second});
  CHECK(first != second);
  CHECK(store.load_users(nullptr)[0].token_hash == hash_token(second));

  store.set_active("alice", false);
  CHECK_FALSE(store.load_users(nullptr)[0].active);
  store.set_active("alice", true);
  CHECK(store.load_users(nullptr)[0].active);

  UserUpdate update;
  update.email = "new@example.org";
  update.tags = std::vector<std::string>{};
  update.vhosts = std::vector<std::string>{"v2"};
  store.update_user("alice", update);
  UserInfo info = *store.find_user("alice");
  CHECK(info.email == "new@example.org");
  CHECK(info.tags.empty());
  CHECK(info.vhosts == std::vector<std::string>{"v2"});

  store.delete_user("alice");
  CHECK(store.load_users(nullptr).empty());
  for (auto change : std::vector<std::function<void()>>{
           [&] { store.rotate_token("alice"); }, [&] { store.set_active("alice", false); },
           [&] { store.delete_user("alice"); },
           [&] { store.update_user("alice", UserUpdate{}); }}) {
    CHECK_THROWS_WITH_AS(change(), "no such user 'alice'", StoreError);
  }
}

TEST_CASE("every change records an audit event in its own transaction, without the token") {
  TempDir dir;
  SqliteStore store(dir.file("a.db"), test_actor(), OpenMode::create_if_missing);
  std::string token = store.add_user(NewUser{"alice", "a@example.org", {}, {"/"}});
  std::string rotated = store.rotate_token("alice");
  testing::record_issued_tokens({token, rotated});
  store.set_active("alice", false);
  store.delete_user("alice");
  CHECK_THROWS(store.delete_user("alice"));  // a failed change records nothing

  std::vector<AuditEvent> events = store.unexported_audit_events(0);
  REQUIRE(events.size() == 4);
  CHECK(events[0].action == "user add");
  CHECK(events[1].action == "user rotate");
  CHECK(events[2].action == "user disable");
  CHECK(events[3].action == "user delete");
  for (const AuditEvent& e : events) {
    CHECK(e.user == "alice");
    CHECK(e.operator_name == "tester");
    CHECK(e.detail.find(token) == std::string::npos);
    CHECK(e.detail.find(rotated) == std::string::npos);
  }
  store.mark_audit_events_exported(events[1].id);
  CHECK(store.unexported_audit_events(0).size() == 2);
}

TEST_CASE("data_version moves when another connection commits") {
  TempDir dir;
  SqliteStore server(dir.file("a.db"), Actor{"serve", ""}, OpenMode::create_if_missing);
  SqliteStore cli(dir.file("a.db"), test_actor());
  std::int64_t before = server.data_version();
  CHECK(server.data_version() == before);
  testing::record_issued_token(cli.add_user(NewUser{"alice", "", {}, {"/"}}));
  CHECK(server.data_version() != before);
}

}  // namespace authsvc
