// Schema upgrades: a database made by each older schema version is opened
// by this build, which migrates it; every row is kept, and every user
// still logs in. The databases are tests/data/schema-vN.sql, SQL text made
// by tests/data/make_schema_fixtures.py (which tells the story they hold:
// the users, grants, tags, audit events and guardian state checked here).
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "authsvc/core/decision.h"
#include "authsvc/core/embedded_file.h"
#include "authsvc/core/token.h"
#include "authsvc/store/sqlite_store.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

// The fixtures' users, as make_schema_fixtures.py makes them: their tokens
// are test-only strings, recorded in the token ledger by each test here so
// that the leak check makes sure they reach no log either.
struct FixtureUser {
  std::string name;
  std::string token;
  std::string email;
  std::vector<std::string> tags;
  std::vector<std::string> vhosts;
  bool active;
  // From schema version 3.
  std::optional<std::int64_t> queue_warn;
  std::optional<std::int64_t> queue_delete;
};

const std::vector<FixtureUser>& fixture_users() {
  static const std::vector<FixtureUser> users = {
      {"alice",
       "schema-fixture-token-of-alice-0000000000000",
       "alice@example.org",
       {"management", "monitoring"},
       {"/", "staging"},
       true,
       100,
       500},
      {"bob",
       "schema-fixture-token-of-bob-000000000000000",
       "",
       {},
       {"/"},
       false,
       std::nullopt,
       std::nullopt},
      {"carol",
       "schema-fixture-token-of-carol-0000000000000",
       "carol@example.org",
       {"monitoring"},
       {"/", "v2"},
       true,
       std::nullopt,
       2000},
  };
  return users;
}

void record_fixture_tokens() {
  for (const FixtureUser& user : fixture_users()) testing::record_issued_token(user.token);
}

// The migrations compiled in, by number.
std::set<int> migration_numbers() {
  std::set<int> numbers;
  for (std::size_t i = 0; i < embedded_migrations_count; ++i) {
    numbers.insert(std::stoi(std::string(embedded_migrations[i].name)));
  }
  return numbers;
}

std::string fixture_path(int version) {
  return std::string(AUTHSVC_TESTDATA) + "/schema-v" + std::to_string(version) + ".sql";
}

// The fixtures there are, by version.
std::vector<int> fixture_versions() {
  std::vector<int> versions;
  for (int version : migration_numbers()) {
    if (std::filesystem::exists(fixture_path(version))) versions.push_back(version);
  }
  return versions;
}

// Every row of every table, as text ("table: 'a',1,X'..'"), of the
// columns `columns` names for the table (all of them if it names none).
std::multiset<std::string> rows_of(SQLite::Database& db,
                                   const std::map<std::string, std::vector<std::string>>& columns) {
  std::multiset<std::string> rows;
  for (const auto& [table, names] : columns) {
    std::string select;
    for (const std::string& column : names) {
      select += (select.empty() ? "" : " || ',' || ") + ("quote(\"" + column + "\")");
    }
    SQLite::Statement q(db, "SELECT " + select + " FROM \"" + table + "\"");
    while (q.executeStep()) rows.insert(table + ": " + q.getColumn(0).getString());
  }
  return rows;
}

// Each table's columns.
std::map<std::string, std::vector<std::string>> columns_of(SQLite::Database& db) {
  std::map<std::string, std::vector<std::string>> columns;
  SQLite::Statement tables(db, "SELECT name FROM sqlite_master WHERE type = 'table'");
  while (tables.executeStep()) {
    std::string table = tables.getColumn(0).getString();
    SQLite::Statement info(db, "PRAGMA table_info(\"" + table + "\")");
    while (info.executeStep()) columns[table].push_back(info.getColumn(1).getString());
  }
  return columns;
}

Decision login(const Snapshot& snapshot, const std::string& name, const std::string& token) {
  AuthRequest request;
  request.endpoint = Endpoint::user;
  request.username = name;
  request.password = token;
  return decide(request, snapshot, std::chrono::system_clock::now());
}

}  // namespace

TEST_CASE("every schema version before the latest has an upgrade fixture") {
  // A new migration N needs the fixture of version N-1, a database as it
  // was before N: run tests/data/make_schema_fixtures.py (schema/README.md).
  std::set<int> numbers = migration_numbers();
  REQUIRE_FALSE(numbers.empty());
  int latest = *numbers.rbegin();
  for (int version : numbers) {
    if (version == latest) continue;
    CAPTURE(version);
    INFO("schema/ has migrations up to " << latest << " but no tests/data/schema-v" << version
                                         << ".sql: run tests/data/make_schema_fixtures.py");
    CHECK(std::filesystem::exists(fixture_path(version)));
  }
  CHECK(fixture_versions().size() >= numbers.size() - 1);
}

TEST_CASE("a database of each older schema version is migrated, with every row, and still works") {
  record_fixture_tokens();
  int latest = *migration_numbers().rbegin();
  std::vector<int> versions = fixture_versions();
  REQUIRE_FALSE(versions.empty());
  for (int version : versions) {
    CAPTURE(version);
    testing::TempDir dir;
    std::string path = dir.file("old.db");
    std::string sql = testing::read_file(fixture_path(version));
    // The fixture as it is, in memory, to compare with; and in a file, for
    // this build to open.
    SQLite::Database before(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    before.exec(sql);
    {
      SQLite::Database file(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      file.exec(sql);
      REQUIRE(file.execAndGet("PRAGMA user_version").getInt() == version);
    }

    SqliteStore store(path, Actor{"cli", "upgrade-test"}, OpenMode::existing);
    CHECK(store.schema_version() == latest);

    // Every row of every table, each with the values it had.
    std::map<std::string, std::vector<std::string>> old_columns = columns_of(before);
    // Columns a later migration moved to another table are checked where
    // they went, below: 004 made users' email an owner (user_owners), and
    // token_hash and token_rotated_at the current credential (credentials).
    for (const char* moved : {"email", "token_hash", "token_rotated_at"}) {
      std::erase(old_columns["users"], moved);
    }
    SQLite::Database after(path, SQLite::OPEN_READONLY);
    std::multiset<std::string> old_rows = rows_of(before, old_columns);
    std::multiset<std::string> new_rows = rows_of(after, old_columns);
    CHECK(old_rows.size() > 5);
    std::vector<std::string> lost;
    std::set_difference(old_rows.begin(), old_rows.end(), new_rows.begin(), new_rows.end(),
                        std::back_inserter(lost));
    for (const std::string& row : lost) {
      // The hashes in users are not shown (a failure is printed in CTest's
      // log, which the leak check searches for them).
      CHECK_MESSAGE(false, "row lost or changed: " << row.substr(0, row.find(",X'")));
    }
    SQLite::Statement dangling(after, "PRAGMA foreign_key_check");
    CHECK_FALSE(dangling.executeStep());
    CHECK(after.execAndGet("PRAGMA integrity_check").getString() == "ok");

    // The users, as the CLI shows them.
    std::vector<UserInfo> users = store.list_users();
    REQUIRE(users.size() == fixture_users().size());
    for (std::size_t i = 0; i < users.size(); ++i) {
      const FixtureUser& expected = fixture_users()[i];
      CAPTURE(expected.name);
      CHECK(users[i].name == expected.name);
      std::vector<std::string> owners;
      if (!expected.email.empty()) owners.push_back(expected.email);
      if (version >= 4 && expected.name == "alice") owners.push_back("Team@Example.org");
      CHECK(users[i].owners == owners);
      CHECK(users[i].credential == CredentialScheme::token);
      CHECK(users[i].previous_valid_until.empty());
      bool expires = version >= 4 && expected.name == "carol";
      CHECK(users[i].expires_at == (expires ? "2030-01-01T00:00:00.000000Z" : ""));
      CHECK(users[i].expiry_notice_lead ==
            (expires ? std::optional<std::int64_t>(604800) : std::nullopt));
      CHECK(users[i].tags == expected.tags);
      CHECK(users[i].vhosts == expected.vhosts);
      CHECK(users[i].active == expected.active);
      CHECK(users[i].queue_warn == (version >= 3 ? expected.queue_warn : std::nullopt));
      CHECK(users[i].queue_delete == (version >= 3 ? expected.queue_delete : std::nullopt));
    }
    CHECK(store.find_user("alice")->credential_issued_at == "2024-03-01T12:00:00.000000Z");
    CHECK(store.find_user("bob")->credential_issued_at == "2024-01-10T09:05:00.000000Z");
    CHECK(store.users_owned_by("ALICE@example.org").size() == 1);

    // And each logs in with its token, as a server snapshot decides.
    std::shared_ptr<const Snapshot> snapshot = testing::pulse_snapshot(store.load_users(nullptr));
    for (const FixtureUser& user : fixture_users()) {
      CAPTURE(user.name);
      CHECK(snapshot->find_user(user.name)->credential == token_credential(user.token));
      Decision decision = login(*snapshot, user.name, user.token);
      CHECK(decision.allow == user.active);
      CHECK(decision.rule == (user.active ? "login" : "disabled-user"));
      CHECK_FALSE(login(*snapshot, user.name, fixture_users()[0].token + "x").allow);
    }
    CHECK(login(*snapshot, "alice", fixture_users()[0].token).tags == "management monitoring");

    // The audit trail: what a server has not copied yet, and who was deleted.
    std::vector<AuditEvent> unexported = store.unexported_audit_events(0);
    std::vector<std::string> expected_actions;
    if (version >= 2) expected_actions = {"user delete", "user disable", "user rotate"};
    if (version >= 3) {
      expected_actions.insert(expected_actions.end(), {"user set", "user set", "queue exempt"});
    }
    if (version >= 4)
      expected_actions.insert(expected_actions.end(), {"user owner add", "user set"});
    std::vector<std::string> actions;
    for (const AuditEvent& e : unexported) actions.push_back(e.action);
    CHECK(actions == expected_actions);
    if (version >= 2) {
      REQUIRE_FALSE(unexported.empty());
      CHECK(unexported[0].id == 5);
      CHECK(unexported[0].user == "dave");
      CHECK(unexported[0].operator_name == "root");
      CHECK(unexported[0].ts == "2024-01-12T11:00:00.000000Z");
    }
    CHECK(store.deleted_user_names() ==
          (version >= 2 ? std::vector<std::string>{"dave"} : std::vector<std::string>{}));

    // The guardian's state.
    if (version >= 3) {
      CHECK(store.queue_exemptions() == std::vector<ResourceKey>{{"/", "queue/alice/archive"}});
      std::vector<QueueNotice> notices = store.queue_notices();
      REQUIRE(notices.size() == 2);
      CHECK(notices[0].queue == ResourceKey{"/", "queue/carol/jobs"});
      CHECK(notices[0].owner == "carol");
      CHECK(notices[0].state == QueueNoticeState::warned);
      CHECK(notices[0].messages == 1500);
      CHECK(notices[0].since == "2024-03-03T10:00:00.000000Z");
      CHECK(notices[1].queue == ResourceKey{"staging", "queue/alice/big"});
      CHECK(notices[1].state == QueueNoticeState::deleting);
      std::vector<ExchangeNotice> exchanges = store.exchange_notices();
      REQUIRE(exchanges.size() == 1);
      CHECK(exchanges[0].exchange == ResourceKey{"/", "exchange/bob/fan"});
      CHECK(exchanges[0].problem == "its type is fanout, not topic");
      std::vector<OutboxMail> outbox = store.outbox(10);
      REQUIRE(outbox.size() == 2);
      CHECK(outbox[0].id == 2);
      CHECK(outbox[0].recipient == "carol@example.org");
      CHECK(outbox[1].subject == "queue/alice/big is being deleted");
      CHECK(outbox[1].attempts == 2);
    } else {
      CHECK(store.queue_exemptions().empty());
      CHECK(store.queue_notices().empty());
      CHECK(store.outbox(10).empty());
    }

    // The web's state: a session, and API keys (one from before keys had
    // to end, which the web now refuses past --api-key-lifetime).
    if (version >= 5) {
      std::vector<ApiKeyInfo> keys = store.api_keys_of("alice@example.org");
      REQUIRE(keys.size() == 2);
      CHECK(keys[0].label == "old");
      CHECK(keys[0].revoked_at == "2024-05-02T00:00:00.000000Z");
      CHECK(keys[1].label == "nightly");
      CHECK(keys[1].expires_at.empty());
      CHECK(keys[1].created_at == "2024-05-01T09:01:00.000000Z");
      CHECK(store.find_session(hash_token("fixture session of alice")));
    } else {
      CHECK(store.api_keys_of("alice@example.org").empty());
    }

    // And it takes changes, numbered after what it held.
    std::string token = store.add_user(NewUser{"erin", {"erin@example.org"}, {}, {"/"}, ""});
    testing::record_issued_token(token);
    CHECK(store.unexported_audit_events(0).back().id == (version >= 4   ? 13
                                                         : version >= 3 ? 11
                                                         : version >= 2 ? 8
                                                                        : 1));
    store.put_queue_notice(
        QueueNotice{{"/", "queue/erin/q"}, "erin", QueueNoticeState::warned, 1, ""},
        {OutboxMail{0, "erin@example.org", "s", "b", 0}});
    CHECK(store.outbox(10).back().id == (version >= 3 ? 4 : 1));
    store.update_user("carol", [] {
      UserUpdate update;
      update.queue_warn = std::optional<std::int64_t>(10);
      return update;
    }());
    CHECK(store.find_user("carol")->queue_warn == 10);
  }
}

}  // namespace authsvc
