#include "authsvc/server/store_watcher.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "authsvc/core/decision.h"
#include "authsvc/store/sqlite_store.h"
#include "tests/test_support.h"

namespace authsvc {

// Threads against each other (the watcher's and the audit log's threads): in ctest -L threaded,
// which scripts/sanitize.sh runs under ThreadSanitizer.
TEST_SUITE_BEGIN("threaded");

TEST_CASE("the served snapshot follows the database and CLI events reach the audit log") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  SqliteStore server_store(db, Actor{"serve", ""}, OpenMode::create_if_missing);
  SqliteStore cli(db, Actor{"cli", "tester"});
  std::string token = cli.add_user(NewUser{"alice", {"owner@example.org"}, {}, {"/"}, ""});
  testing::record_issued_token(token);

  AuditLog audit(dir.file("audit.log"), "test-node");
  SnapshotSource source;
  StoreWatcher watcher(server_store, std::make_shared<const Rules>(Rules::pulse_default()), source,
                       audit, std::chrono::milliseconds(10));
  REQUIRE(source.current());
  CHECK(source.current()->user_count() == 1);
  CHECK_FALSE(watcher.poll_once());  // nothing changed since

  AuthRequest login;
  login.endpoint = Endpoint::user;
  login.username = "alice";
  login.password = token;
  std::shared_ptr<const Snapshot> before = source.current();
  CHECK(decide(login, *before, std::chrono::system_clock::now()).allow);

  cli.set_active("alice", false);
  CHECK(watcher.poll_once());
  CHECK_FALSE(decide(login, *source.current(), std::chrono::system_clock::now()).allow);
  // A request that took the old snapshot keeps a consistent view of it.
  CHECK(decide(login, *before, std::chrono::system_clock::now()).allow);

  std::string rotated = cli.rotate_token("alice");
  testing::record_issued_token(rotated);
  cli.set_active("alice", true);
  CHECK(watcher.poll_once());
  CHECK_FALSE(decide(login, *source.current(), std::chrono::system_clock::now()).allow);
  login.password = rotated;
  CHECK(decide(login, *source.current(), std::chrono::system_clock::now()).allow);

  audit.flush();
  std::vector<std::string> lines = testing::lines_of(testing::read_file(dir.file("audit.log")));
  REQUIRE(lines.size() == 4);
  CHECK(nlohmann::json::parse(lines[0])["action"] == "user add");
  CHECK(nlohmann::json::parse(lines[3])["action"] == "user enable");
  CHECK(nlohmann::json::parse(lines[3])["operator"] == "tester");
  CHECK(cli.unexported_audit_events(0).empty());
}

TEST_CASE("the watcher thread picks up a change within a second") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  SqliteStore server_store(db, Actor{"serve", ""}, OpenMode::create_if_missing);
  SqliteStore cli(db, Actor{"cli", "tester"});
  AuditLog audit(dir.file("audit.log"), "test-node");
  SnapshotSource source;
  StoreWatcher watcher(server_store, std::make_shared<const Rules>(Rules::pulse_default()), source,
                       audit, std::chrono::milliseconds(200));
  watcher.start();
  testing::record_issued_token(
      cli.add_user(NewUser{"alice", {"owner@example.org"}, {}, {"/"}, ""}));
  auto deadline = std::chrono::steady_clock::now() + testing::scaled(std::chrono::seconds(1));
  while (source.current()->user_count() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(source.current()->user_count() == 1);
  watcher.stop();
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("CLI changes are applied to the snapshot by user, and many changes reload it whole") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  SqliteStore server_store(db, Actor{"serve", ""}, OpenMode::create_if_missing);
  SqliteStore cli(db, Actor{"cli", "tester"});
  std::vector<NewUser> many;
  for (int i = 0; i < 3000; ++i)
    many.push_back({"user" + std::to_string(i), {"owner@example.org"}, {}, {"/"}, ""});
  testing::record_issued_tokens(cli.add_users(many, "user import"));
  AuditLog audit(dir.file("audit.log"), "test-node");
  SnapshotSource source;
  StoreWatcher watcher(server_store, std::make_shared<const Rules>(Rules::pulse_default()), source,
                       audit, std::chrono::milliseconds(10));
  CHECK(source.current()->user_count() == 3000);
  CHECK(source.current()->changed_count() == 0);

  std::string token =
      cli.add_user(NewUser{"alice", {"owner@example.org"}, {"monitoring"}, {"/"}, ""});
  testing::record_issued_token(token);
  cli.set_active("user7", false);
  cli.delete_user("user8");
  REQUIRE(watcher.poll_once());
  std::shared_ptr<const Snapshot> s = source.current();
  CHECK(s->changed_count() == 3);  // applied by user, not reloaded
  CHECK(s->user_count() == 3000);  // one added, one deleted
  REQUIRE(s->find_user("alice"));
  CHECK(s->find_user("alice")->tags == "monitoring");
  CHECK(s->find_user("alice")->credential == token_credential(token));
  CHECK_FALSE(s->find_user("user7")->active);
  CHECK_FALSE(s->find_user("user8"));
  CHECK(s->find_user("user9")->active);

  // Re-adding a deleted user and rotating: the newest state wins.
  std::string again = cli.add_user(NewUser{"user8", {"owner@example.org"}, {}, {"/", "v2"}, ""});
  testing::record_issued_token(again);
  REQUIRE(watcher.poll_once());
  s = source.current();
  REQUIRE(s->find_user("user8"));
  CHECK(s->find_user("user8")->has_vhost("v2"));
  CHECK(s->find_user("user8")->credential == token_credential(again));
  CHECK(s->user_count() == 3001);

  // More changed users than kept aside: a full reload.
  std::vector<NewUser> more;
  for (int i = 0; i < 1500; ++i)
    more.push_back({"more" + std::to_string(i), {"owner@example.org"}, {}, {"/"}, ""});
  testing::record_issued_tokens(cli.add_users(more, "user import"));
  REQUIRE(watcher.poll_once());
  s = source.current();
  CHECK(s->changed_count() == 0);
  CHECK(s->user_count() == 4501);
  CHECK_FALSE(s->find_user("user7")->active);
}

TEST_CASE("the guardian's writes (no user event) do not make the server reload its users") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  SqliteStore server_store(db, Actor{"serve", ""}, OpenMode::create_if_missing);
  SqliteStore cli(db, Actor{"cli", "tester"});
  SqliteStore guardian(db, Actor{"guardian", ""});
  testing::record_issued_token(
      cli.add_user(NewUser{"alice", {"owner@example.org"}, {}, {"/"}, ""}));
  AuditLog audit(dir.file("audit.log"), "test-node");
  SnapshotSource source;
  StoreWatcher watcher(server_store, std::make_shared<const Rules>(Rules::pulse_default()), source,
                       audit, std::chrono::milliseconds(10));
  std::shared_ptr<const Snapshot> before = source.current();

  guardian.put_queue_notice(
      QueueNotice{{"/", "queue/alice/q"}, "alice", QueueNoticeState::warned, 2500, ""},
      {OutboxMail{0, "alice@example.org", "s", "b", 0}});
  guardian.remove_from_outbox(guardian.outbox(100).at(0).id);
  CHECK_FALSE(watcher.poll_once());
  CHECK(source.current() == before);

  // A user change after it is applied as usual, user by user.
  cli.set_active("alice", false);
  CHECK(watcher.poll_once());
  CHECK(source.current() != before);
  CHECK(source.current()->changed_count() == 1);
}

TEST_CASE("a restore under the watcher reloads every user, and the changes after it are applied") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  SqliteStore server_store(db, Actor{"serve", ""}, OpenMode::create_if_missing);
  SqliteStore cli(db, Actor{"cli", "tester"});
  std::string alice = cli.add_user(NewUser{"alice", {"owner@example.org"}, {}, {"/"}, ""});
  std::string bob = cli.add_user(NewUser{"bob", {"owner@example.org"}, {}, {"/"}, ""});
  testing::record_issued_tokens({alice, bob});
  back_up_store(db, dir.file("backup.db"), Actor{"cli", "tester"}, false);
  cli.delete_user("bob");
  std::string rotated = cli.rotate_token("alice");
  testing::record_issued_token(rotated);

  AuditLog audit(dir.file("audit.log"), "test-node");
  SnapshotSource source;
  StoreWatcher watcher(server_store, std::make_shared<const Rules>(Rules::pulse_default()), source,
                       audit, std::chrono::milliseconds(10));
  CHECK_FALSE(source.current()->find_user("bob"));

  restore_store(db, dir.file("backup.db"), Actor{"cli", "tester"});
  REQUIRE(watcher.poll_once());
  std::shared_ptr<const Snapshot> s = source.current();
  CHECK(s->changed_count() == 0);  // reloaded whole
  REQUIRE(s->find_user("bob"));
  CHECK(s->find_user("bob")->credential == token_credential(bob));
  CHECK(s->find_user("alice")->credential == token_credential(alice));

  cli.set_active("bob", false);
  REQUIRE(watcher.poll_once());
  CHECK(source.current()->changed_count() == 1);
  CHECK_FALSE(source.current()->find_user("bob")->active);

  audit.flush();
  std::string log = testing::read_file(dir.file("audit.log"));
  CHECK(log.find("\"action\":\"restore\"") != std::string::npos);
}

TEST_SUITE_END();

}  // namespace authsvc
