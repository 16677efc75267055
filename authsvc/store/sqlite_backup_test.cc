// Backups of the SQLite store: back_up_store and restore_store (store.h).
// The commands around them, with a running serve, are tests/backup_test.cc.
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "authsvc/store/sqlite_store.h"
#include "tests/database_contents.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

Actor operator_actor() { return Actor{"cli", "tester"}; }

// A database as `authsvc init` makes it, with users alice and bob.
std::string make_store(const TempDir& dir, const std::string& name = "live.db") {
  std::string path = dir.file(name);
  SqliteStore store(path, operator_actor(), OpenMode::create_if_missing);
  testing::record_issued_tokens(
      store.add_users({NewUser{"alice", {"alice@example.org"}, {"monitoring"}, {"/"}, ""},
                       NewUser{"bob", {"bob@example.org"}, {}, {"/", "staging"}, ""}},
                      "user add"));
  return path;
}

std::vector<std::string> user_names(Store& store) {
  std::vector<std::string> names;
  for (const UserInfo& user : store.list_users()) names.push_back(user.name);
  return names;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// The names of the files in `dir` that contain `part`.
std::set<std::string> files_in(const TempDir& dir, const std::string& part) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    std::string name = entry.path().filename().string();
    if (name.find(part) != std::string::npos) names.insert(name);
  }
  return names;
}

}  // namespace

TEST_CASE("a backup is one 0600 file with every user, audited in the store and not in the copy") {
  TempDir dir;
  std::string live = make_store(dir);
  std::string target = dir.file("copy.db");
  // Whatever the umask: the copy holds token hashes.
  mode_t old = umask(022);
  BackupContents copied = back_up_store(live, target, operator_actor(), false);
  umask(old);
  CHECK(copied.users == 2);
  CHECK(copied.schema_version == SqliteStore(live, operator_actor()).schema_version());
  CHECK(mode_of(target) == 0600);
  // One file: no WAL or index beside it, no temporary file left.
  CHECK(files_in(dir, "copy.db") == std::set<std::string>{"copy.db"});
  {
    SQLite::Database raw(target, SQLite::OPEN_READONLY);
    CHECK(raw.execAndGet("PRAGMA journal_mode").getString() == "delete");
    CHECK(raw.execAndGet("PRAGMA integrity_check").getString() == "ok");
  }
  SqliteStore copy(target, operator_actor());
  CHECK(user_names(copy) == std::vector<std::string>{"alice", "bob"});
  CHECK(copy.unexported_audit_events(0).back().action == "user add");

  SqliteStore store(live, operator_actor());
  AuditEvent event = store.unexported_audit_events(0).back();
  CHECK(event.action == "backup");
  CHECK(event.actor == "cli");
  CHECK(event.operator_name == "tester");
  CHECK(event.user.empty());
  CHECK(event.detail == "to '" + target + "'");
}

TEST_CASE(
    "a backup refuses an existing file unless told to replace it, and the store's own files") {
  TempDir dir;
  std::string live = make_store(dir);
  std::string target = dir.file("copy.db");
  testing::write_file(target, "an older backup");
  CHECK_THROWS_WITH_AS(back_up_store(live, target, operator_actor(), false),
                       ("'" + target + "' exists; give --force to replace it").c_str(), StoreError);
  CHECK(testing::read_file(target) == "an older backup");
  back_up_store(live, target, operator_actor(), true);
  CHECK(SqliteStore(target, operator_actor()).list_users().size() == 2);

  for (const std::string& own : {live, live + "-wal", dir.path().string() + "/./live.db"}) {
    CAPTURE(own);
    CHECK_THROWS_WITH_AS(back_up_store(live, own, operator_actor(), true),
                         doctest::Contains("is a file of the database"), StoreError);
  }
  CHECK(SqliteStore(live, operator_actor()).list_users().size() == 2);

  std::string nowhere = dir.file("missing/copy.db");
  CHECK_THROWS_WITH_AS(back_up_store(live, nowhere, operator_actor(), false),
                       doctest::Contains("cannot create a file in"), StoreError);
  CHECK_THROWS_WITH_AS(back_up_store(dir.file("missing.db"), target, operator_actor(), true),
                       doctest::Contains("does not exist"), StoreError);
}

TEST_CASE("a restore is one commit another connection sees, with an event after all it saw") {
  TempDir dir;
  std::string live = make_store(dir);
  std::string backup = dir.file("backup.db");
  back_up_store(live, backup, operator_actor(), false);

  SqliteStore cli(live, operator_actor());
  cli.delete_user("bob");
  testing::record_issued_token(
      cli.add_user(NewUser{"carol", {"carol@example.org"}, {}, {"/"}, ""}));
  // A server's connection, with what it last saw.
  SqliteStore server(live, Actor{"serve", ""});
  std::int64_t seen = 0;
  server.load_users(&seen);
  std::int64_t version = server.data_version();

  BackupContents restored = restore_store(live, backup, operator_actor());
  CHECK(restored.users == 2);
  CHECK(server.data_version() != version);
  // Not a change of a few users: every one of them.
  std::int64_t last = 0;
  CHECK_FALSE(server.changed_users_since(seen, 1024, last).has_value());
  CHECK(user_names(server) == std::vector<std::string>{"alice", "bob"});
  AuditEvent event = server.unexported_audit_events(seen).back();
  CHECK(event.action == "restore");
  CHECK(event.id == seen + 1);
  CHECK(event.operator_name == "tester");
  CHECK(event.detail.find("from '" + backup + "' (2 users; its schema version ") == 0);

  // Changes after it are numbered after it, and applied as usual.
  std::int64_t after_restore = 0;
  server.load_users(&after_restore);
  cli.set_active("alice", false);
  std::optional<std::vector<UserChange>> changes =
      server.changed_users_since(after_restore, 1024, last);
  REQUIRE(changes);
  REQUIRE(changes->size() == 1);
  CHECK((*changes)[0].name == "alice");

  SQLite::Database raw(live, SQLite::OPEN_READONLY);
  CHECK(raw.execAndGet("PRAGMA journal_mode").getString() == "wal");
  CHECK(raw.execAndGet("PRAGMA integrity_check").getString() == "ok");
  CHECK(files_in(dir, ".restore").empty());
  CHECK(files_in(dir, "backup.db") == std::set<std::string>{"backup.db"});
}

TEST_CASE("a restore refuses what is not an authsvc database, and leaves the store as it was") {
  TempDir dir;
  std::string live = make_store(dir);
  std::string good = dir.file("good.db");
  back_up_store(live, good, operator_actor(), false);
  // A backup changed with SQL, or written as bytes.
  auto edited = [&](const std::string& name, const std::string& sql) {
    std::string path = dir.file(name);
    fs::copy_file(good, path);
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec(sql);
    return path;
  };
  auto written = [&](const std::string& name, const std::string& bytes) {
    std::string path = dir.file(name);
    testing::write_file(path, bytes);
    return path;
  };
  auto other_sqlite = [&](const std::string& name, const std::string& sql) {
    std::string path = dir.file(name);
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec(sql);
    return path;
  };
  // Junk over the first page of the users table: the file still opens,
  // its header is sound, and only reading that page finds the damage.
  std::string corrupt = dir.file("corrupt.db");
  fs::copy_file(good, corrupt);
  {
    SQLite::Database raw(good, SQLite::OPEN_READONLY);
    std::int64_t page_size = raw.execAndGet("PRAGMA page_size").getInt64();
    std::int64_t root =
        raw.execAndGet("SELECT rootpage FROM sqlite_schema WHERE name = 'users'").getInt64();
    std::fstream f(corrupt, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>((root - 1) * page_size));
    std::string junk(static_cast<std::size_t>(page_size), '\xa5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    REQUIRE(f.flush());
  }
  struct Case {
    std::string path;
    std::string message;
  };
  const std::string not_ours = "is not an authsvc database: ";
  const Case cases[] = {
      {dir.file("missing.db"), "cannot read '" + dir.file("missing.db") + "'"},
      {dir.path().string(), "is not a file"},
      {written("text.db", "this is not a database, just text long enough to fill a header\n"),
       not_ours + "file is not a database"},
      {written("zeros.db", std::string(8192, '\0')), not_ours + "file is not a database"},
      {written("empty.db", ""), not_ours + "it has no schema version"},
      {other_sqlite("other.db", "CREATE TABLE notes (x)"), not_ours + "it has no schema version"},
      {other_sqlite("other3.db", "CREATE TABLE notes (x); PRAGMA user_version = 3"),
       not_ours + "it cannot be migrated to schema version"},
      {corrupt, not_ours},
      {edited("newer.db", "PRAGMA user_version = 999"),
       "is from a newer authsvc (schema version 999; this one knows up to "},
      {edited("extra.db", "CREATE TABLE notes (x)"),
       not_ours + "it has a table 'notes' that authsvc's schema has not"},
      {edited("dropped.db", "DROP TABLE outbox"), not_ours + "it has no table 'outbox'"},
      {edited("altered.db", "ALTER TABLE users ADD COLUMN note TEXT"),
       not_ours + "its table 'users' is not authsvc's"},
      {edited("trigger.db",
              "CREATE TRIGGER enable AFTER UPDATE ON users BEGIN "
              "UPDATE users SET status = 'active' WHERE id = NEW.id; END"),
       not_ours + "it has a trigger 'enable' that authsvc's schema has not"},
      {edited("dangling.db", "INSERT INTO user_vhosts (user_id, vhost) VALUES (999, '/')"),
       not_ours + "it fails the foreign key check (a row of 'user_vhosts' refers"},
      {edited("no-credential.db",
              "DELETE FROM credentials WHERE user_id = (SELECT id FROM users WHERE name = 'bob')"),
       not_ours + "1 of its users have no current credential"},
      {edited("bad-time.db", "UPDATE users SET expires_at = 'soon' WHERE name = 'bob'"),
       not_ours + "user 'bob' has a malformed time in column expires_at"},
      {live, "is a file of the database"},
      {live + "-wal", "is a file of the database"},
  };
  // Open, as a server's connection would be: the WAL is there to be named.
  SqliteStore server(live, Actor{"serve", ""});
  const std::string before = testing::database_contents(live);
  for (const Case& c : cases) {
    CAPTURE(c.path);
    CHECK_THROWS_WITH_AS(restore_store(live, c.path, operator_actor()),
                         doctest::Contains(c.message.c_str()), StoreError);
    CHECK(testing::database_contents(live) == before);
    CHECK(files_in(dir, ".restore").empty());  // no staged copy left behind
  }
  CHECK_THROWS_WITH_AS(restore_store(dir.file("missing-live.db"), good, operator_actor()),
                       doctest::Contains("does not exist"), StoreError);
  CHECK_FALSE(fs::exists(dir.file("missing-live.db")));
}

TEST_CASE(
    "a backup of an older schema is migrated as it is restored, and the file kept as it was") {
  for (const char* token : {"schema-fixture-token-of-alice-0000000000000",
                            "schema-fixture-token-of-bob-000000000000000",
                            "schema-fixture-token-of-carol-0000000000000"}) {
    testing::record_issued_token(token);
  }
  TempDir dir;
  std::string live = make_store(dir);
  std::string old = dir.file("v3.db");
  {
    SQLite::Database raw(old, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec(testing::read_file(std::string(AUTHSVC_TESTDATA) + "/schema-v3.sql"));
    REQUIRE(raw.execAndGet("PRAGMA user_version").getInt() == 3);
  }
  std::string bytes = testing::read_file(old);
  BackupContents restored = restore_store(live, old, operator_actor());
  CHECK(restored.schema_version == 3);
  CHECK(restored.users == 3);
  SqliteStore store(live, operator_actor());
  CHECK(store.schema_version() > 3);
  CHECK(user_names(store) == std::vector<std::string>{"alice", "bob", "carol"});
  CHECK(store.find_user("carol")->owners == std::vector<std::string>{"carol@example.org"});
  CHECK(testing::read_file(old) == bytes);
  CHECK_FALSE(fs::exists(old + "-wal"));
}

TEST_CASE("a restore takes a backup of another page size, and a copy with its WAL beside it") {
  TempDir dir;
  std::string live = make_store(dir);
  std::string backup = dir.file("backup.db");
  back_up_store(live, backup, operator_actor(), false);
  {
    SQLite::Database raw(backup, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA page_size = 8192; VACUUM");
    REQUIRE(raw.execAndGet("PRAGMA page_size").getInt() == 8192);
  }
  SqliteStore(live, operator_actor()).delete_user("bob");
  restore_store(live, backup, operator_actor());
  {
    SQLite::Database raw(live, SQLite::OPEN_READONLY);
    CHECK(raw.execAndGet("PRAGMA page_size").getInt() == 4096);
    CHECK(raw.execAndGet("PRAGMA integrity_check").getString() == "ok");
  }
  CHECK(SqliteStore(live, operator_actor()).find_user("bob"));

  // cp of a store in use: the last commits are in the WAL still.
  TempDir other;
  std::string source = make_store(other, "source.db");
  SqliteStore writer(source, operator_actor());  // open: no checkpoint at its close
  testing::record_issued_token(
      writer.add_user(NewUser{"dave", {"dave@example.org"}, {}, {"/"}, ""}));
  REQUIRE(fs::file_size(source + "-wal") > 0);
  fs::copy_file(source, dir.file("cp.db"));
  fs::copy_file(source + "-wal", dir.file("cp.db-wal"));
  restore_store(live, dir.file("cp.db"), operator_actor());
  CHECK(SqliteStore(live, operator_actor()).find_user("dave"));
}

}  // namespace authsvc
