// SQLite's store: what the contract tests (store_contract_test.cc) run
// against, and what is SQLite's own: its files, their modes, its journal,
// and the schema version it keeps.
#include "authsvc/store/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "authsvc/core/embedded_file.h"
#include "authsvc/store/store_contract.h"
#include "tests/test_support.h"

namespace authsvc {

namespace store_contract {
namespace {

// A database file of its own in a temporary folder, made as `authsvc init`
// makes it; each connection is what open_store() gives for it.
class SqliteUnderTest : public StoreUnderTest {
 public:
  SqliteUnderTest() { open_store(path_, Actor{"init", ""}, OpenMode::create_if_missing); }

  std::unique_ptr<Store> connect(const Actor& actor) override { return open_store(path_, actor); }

  StoreLocation location() override { return path_; }

  std::string stored_bytes() override {
    std::string bytes;
    for (const std::string& file : files()) bytes += testing::read_file(file);
    return bytes;
  }

  // Junk over every byte of the database, its WAL and its shared-memory
  // index, in place (the same sizes: the index is mapped by the open
  // connections, and a mapping past the end of a file is a SIGBUS).
  void damage() override {
    for (const std::string& file : files()) {
      std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
      REQUIRE(f);
      std::string junk(static_cast<std::size_t>(std::filesystem::file_size(file)), '\xa5');
      f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
      REQUIRE(f.flush());
    }
  }

 private:
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      if (std::filesystem::exists(path_ + suffix)) out.push_back(path_ + suffix);
    }
    return out;
  }

  testing::TempDir dir_;
  std::string path_ = dir_.file("store.db");
};

}  // namespace

std::unique_ptr<StoreUnderTest> Sqlite::make() { return std::make_unique<SqliteUnderTest>(); }

}  // namespace store_contract

namespace {

using testing::TempDir;

Actor test_actor() { return Actor{"cli", "tester"}; }

// The number of the last migration compiled in: the schema version this
// build makes.
int latest_schema_version() {
  int latest = 0;
  for (std::size_t i = 0; i < embedded_migrations_count; ++i) {
    latest = std::max(latest, std::stoi(std::string(embedded_migrations[i].name)));
  }
  return latest;
}

}  // namespace

TEST_CASE("opening a new database applies every migration, and reopening applies none") {
  TempDir dir;
  std::string path = dir.file("a.db");
  {
    SqliteStore store(path, test_actor(), OpenMode::create_if_missing);
    CHECK(store.schema_version() == latest_schema_version());
    testing::record_issued_token(
        store.add_user(NewUser{"alice", {"alice@example.org"}, {}, {"/"}, ""}));
  }
  SqliteStore again(path, test_actor(), OpenMode::existing);
  CHECK(again.schema_version() == latest_schema_version());
  CHECK(again.find_user("alice").has_value());
  SQLite::Database raw(path);
  CHECK(raw.execAndGet("PRAGMA journal_mode").getString() == "wal");
  CHECK(raw.execAndGet("PRAGMA user_version").getInt() == latest_schema_version());
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

TEST_CASE("a reopen that finds a database from a newer authsvc leaves the store closed") {
  TempDir dir;
  std::string path = dir.file("a.db");
  SqliteStore store(path, test_actor(), OpenMode::create_if_missing);
  testing::record_issued_token(
      store.add_user(NewUser{"alice", {"alice@example.org"}, {}, {"/"}, ""}));
  auto set_version = [&](int version) {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA user_version = " + std::to_string(version));
  };
  set_version(999);
  CHECK_THROWS_WITH_AS(store.reopen(), doctest::Contains("newer than this authsvc"), StoreError);
  // Until a reopen succeeds, every call says so, rather than use it.
  CHECK_THROWS_WITH_AS(store.find_user("alice"), doctest::Contains("is not open"), StoreError);
  CHECK_THROWS_WITH_AS(store.data_version(), doctest::Contains("is not open"), StoreError);
  set_version(latest_schema_version());
  store.reopen();
  CHECK(store.find_user("alice").has_value());
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
  CHECK_THROWS_WITH_AS(open_store(path, test_actor()), expected.c_str(), StoreError);
  CHECK_FALSE(std::filesystem::exists(path));
  { SqliteStore created(path, test_actor(), OpenMode::create_if_missing); }
  CHECK(std::filesystem::exists(path));
}

TEST_CASE("a change whose audit event or mail cannot be written is not made either") {
  TempDir dir;
  std::string path = dir.file("a.db");
  SqliteStore store(path, test_actor(), OpenMode::create_if_missing);
  testing::record_issued_token(
      store.add_user(NewUser{"alice", {"alice@example.org"}, {}, {"/"}, ""}));
  ResourceKey queue{"/", "queue/alice/q"};
  store.put_queue_notice(QueueNotice{queue, "alice", QueueNoticeState::warned, 5, ""}, {});
  // Another connection makes every write of an audit event or a mail fail.
  SQLite::Database raw(path, SQLite::OPEN_READWRITE);
  raw.exec(
      "CREATE TRIGGER no_events BEFORE INSERT ON audit_events "
      "BEGIN SELECT RAISE(ABORT, 'no audit event'); END");
  raw.exec(
      "CREATE TRIGGER no_mail BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'no mail'); END");

  UserUpdate tags;
  tags.tags = std::vector<std::string>{"monitoring"};
  CHECK_THROWS_WITH_AS(store.add_user(NewUser{"bob", {"bob@example.org"}, {}, {"/"}, ""}),
                       doctest::Contains("no audit event"), StoreError);
  CHECK_THROWS_AS(store.rotate_token("alice"), StoreError);
  CHECK_THROWS_AS(store.rotate_token("alice", std::chrono::hours(1)), StoreError);
  CHECK_THROWS_AS(store.set_active("alice", false), StoreError);
  CHECK_THROWS_AS(store.update_user("alice", tags), StoreError);
  CHECK_THROWS_AS(store.add_owner("alice", "second@example.org"), StoreError);
  CHECK_THROWS_AS(store.add_owners({{"alice", "third@example.org"}}), StoreError);
  CHECK_THROWS_AS(store.import_users({ImportedUser{
                      "carol",
                      {},
                      {"/"},
                      Credential{CredentialScheme::rabbit_md5, std::vector<std::uint8_t>(20)}}}),
                  StoreError);
  CHECK_THROWS_AS(store.delete_user("alice"), StoreError);
  CHECK_THROWS_AS(store.set_queue_exempt(queue, "alice", true), StoreError);
  CHECK_FALSE(store.find_user("bob"));
  std::optional<UserInfo> alice = store.find_user("alice");
  REQUIRE(alice);
  CHECK(alice->active);
  CHECK(alice->owners == std::vector<std::string>{"alice@example.org"});
  CHECK(alice->tags.empty());
  CHECK(alice->previous_valid_until.empty());
  CHECK(alice->updated_at == alice->created_at);
  CHECK_FALSE(store.find_user("carol"));
  CHECK(store.queue_exemptions().empty());

  std::vector<OutboxMail> mail{OutboxMail{0, "alice@example.org", "s", "b", 0}};
  CHECK_THROWS_WITH_AS(
      store.put_queue_notice(QueueNotice{queue, "alice", QueueNoticeState::deleting, 9, ""}, mail),
      doctest::Contains("no mail"), StoreError);
  CHECK_THROWS_AS(store.remove_queue_notice(queue, mail), StoreError);
  CHECK_THROWS_AS(store.put_exchange_notice(
                      ExchangeNotice{{"/", "exchange/alice/x"}, "alice", "fanout", ""}, mail),
                  StoreError);
  std::vector<QueueNotice> notices = store.queue_notices();
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].state == QueueNoticeState::warned);
  CHECK(store.exchange_notices().empty());
  CHECK(store.unexported_audit_events(0).size() == 1);

  // An expiry notice is its mails and its mark, or nothing.
  raw.exec("DROP TRIGGER no_events");
  UserUpdate expiry;
  expiry.expires_at = "2099-01-01T00:00:00.000000Z";
  store.update_user("alice", expiry);
  CHECK_THROWS_AS(store.record_expiry_notice("alice", "2099-01-01T00:00:00.000000Z", 86400,
                                             {OutboxMail{0, "alice@example.org", "s", "b", 0}}),
                  StoreError);
  CHECK_FALSE(store.find_user("alice")->expiry_notice_lead);
  CHECK(store.unexported_audit_events(0).size() == 2);

  // A notice to several owners: the second mail failing undoes the first.
  raw.exec("DROP TRIGGER no_mail");
  raw.exec(
      "CREATE TRIGGER no_mail_to_ops BEFORE INSERT ON outbox WHEN NEW.recipient = "
      "'ops@example.org' BEGIN SELECT RAISE(ABORT, 'no mail to ops'); END");
  CHECK_THROWS_WITH_AS(
      store.put_queue_notice(QueueNotice{queue, "alice", QueueNoticeState::deleting, 9, ""},
                             {OutboxMail{0, "alice@example.org", "s", "b", 0},
                              OutboxMail{0, "ops@example.org", "s", "b", 0}}),
      doctest::Contains("no mail to ops"), StoreError);
  CHECK(store.queue_notices().at(0).state == QueueNoticeState::warned);
  CHECK_THROWS_AS(store.record_expiry_notice("alice", "2099-01-01T00:00:00.000000Z", 86400,
                                             {OutboxMail{0, "alice@example.org", "s", "b", 0},
                                              OutboxMail{0, "ops@example.org", "s", "b", 0}}),
                  StoreError);
  CHECK_FALSE(store.find_user("alice")->expiry_notice_lead);
  CHECK(store.outbox(10).empty());
}

TEST_CASE("the database, its WAL and its index are private to the service account") {
  TempDir dir;
  std::string path = dir.file("a.db");
  mode_t old = umask(077);
  {
    SqliteStore store(path, test_actor(), OpenMode::create_if_missing);
    testing::record_issued_token(
        store.add_user(NewUser{"alice", {"alice@example.org"}, {}, {"/"}, ""}));
    for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
      CAPTURE(file);
      struct stat st {};
      REQUIRE(stat(file.c_str(), &st) == 0);
      CHECK((st.st_mode & 0777) == 0600);
    }
  }
  umask(old);
}

}  // namespace authsvc
