#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "authsvc/core/credential.h"
#include "authsvc/server/store_watcher.h"
#include "authsvc/store/sqlite_store.h"
#include "tests/test_support.h"

namespace authsvc {

namespace {

// The server's own store, except that once armed, the CLI commits a token
// rotation right after the watcher has read the changed users: the moment
// between that read and the read of the audit events, which in a real run
// only a commit landing by chance finds. The CLI's own connection, as in a
// real run: a commit through the server's connection would not change what
// its data_version says. Derived rather than wrapping, as only this one
// call is of interest.
class RotatesWhileReading : public SqliteStore {
 public:
  RotatesWhileReading(const std::string& path, SqliteStore& cli)
      : SqliteStore(path, Actor{"serve", ""}), cli_(cli) {}

  // The token the rotation made, once it has happened.
  std::optional<std::string> rotated;
  bool armed = false;

  std::optional<std::vector<UserChange>> changed_users_since(std::int64_t after, std::size_t limit,
                                                             std::int64_t& last_event_id) override {
    auto changes = SqliteStore::changed_users_since(after, limit, last_event_id);
    if (armed) {
      armed = false;
      rotated = cli_.rotate_token("alice");
      testing::record_issued_token(*rotated);
    }
    return changes;
  }

 private:
  SqliteStore& cli_;
};

bool logged(const std::string& audit_path, const std::string& action) {
  for (const std::string& line : testing::lines_of(testing::read_file(audit_path))) {
    if (nlohmann::json::parse(line)["action"] == action) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("an event committed while the watcher reads is logged only once its change is served") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  SqliteStore cli(db, Actor{"cli", "tester"}, OpenMode::create_if_missing);
  std::string token = cli.add_user(NewUser{"alice", {"owner@example.org"}, {}, {"/"}, ""});
  testing::record_issued_token(token);
  RotatesWhileReading server_store(db, cli);

  AuditLog audit(dir.file("audit.log"), "test-node");
  SnapshotSource source;
  StoreWatcher watcher(server_store, std::make_shared<const Rules>(Rules::pulse_default()), source,
                       audit, std::chrono::milliseconds(10));

  // A change for the watcher to apply user by user, which is where it reads
  // the changed users and then the events.
  cli.set_active("alice", false);
  server_store.armed = true;
  REQUIRE(watcher.poll_once());
  REQUIRE(server_store.rotated);

  const std::string audit_path = dir.file("audit.log");
  // The poll has returned, having read the events: the rotation's line had
  // its chance to be written, and the served snapshot does not hold it yet.
  audit.flush();
  CHECK(logged(audit_path, "user disable"));
  CHECK_FALSE(logged(audit_path, "user rotate"));
  CHECK(source.current()->find_user("alice")->credential == token_credential(token));

  REQUIRE(watcher.poll_once());
  audit.flush();
  CHECK(source.current()->find_user("alice")->credential ==
        token_credential(*server_store.rotated));
  CHECK(logged(audit_path, "user rotate"));
}

}  // namespace authsvc
