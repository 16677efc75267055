#include "authsvc/store_watcher.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "authsvc/decision.h"
#include "tests/test_support.h"

namespace authsvc {

TEST_CASE("the served snapshot follows the database and CLI events reach the audit log") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  Store server_store(db, Actor{"serve", ""});
  Store cli(db, Actor{"cli", "tester"});
  std::string token = cli.add_user("alice", "", {}, {"/"});

  AuditLog audit(dir.file("audit.log"));
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
  CHECK(decide(login, *before).allow);

  cli.set_active("alice", false);
  CHECK(watcher.poll_once());
  CHECK_FALSE(decide(login, *source.current()).allow);
  // A request that took the old snapshot keeps a consistent view of it.
  CHECK(decide(login, *before).allow);

  std::string rotated = cli.rotate_token("alice");
  cli.set_active("alice", true);
  CHECK(watcher.poll_once());
  CHECK_FALSE(decide(login, *source.current()).allow);
  login.password = rotated;
  CHECK(decide(login, *source.current()).allow);

  audit.flush();
  std::vector<std::string> lines = testing::lines_of(testing::read_file(dir.file("audit.log")));
  REQUIRE(lines.size() == 4);
  CHECK(nlohmann::json::parse(lines[0])["action"] == "user add");
  CHECK(nlohmann::json::parse(lines[3])["action"] == "user enable");
  CHECK(nlohmann::json::parse(lines[3])["operator"] == "tester");
  CHECK(cli.unexported_audit_events().empty());
}

TEST_CASE("the watcher thread picks up a change within a second") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  Store server_store(db, Actor{"serve", ""});
  Store cli(db, Actor{"cli", "tester"});
  AuditLog audit(dir.file("audit.log"));
  SnapshotSource source;
  StoreWatcher watcher(server_store, std::make_shared<const Rules>(Rules::pulse_default()), source,
                       audit, std::chrono::milliseconds(200));
  watcher.start();
  cli.add_user("alice", "", {}, {"/"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (source.current()->user_count() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(source.current()->user_count() == 1);
  watcher.stop();
}

}  // namespace authsvc
