#include "authsvc/store/schema_fixtures.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <variant>

#include "authsvc/core/decision.h"
#include "authsvc/core/embedded_file.h"
#include "authsvc/core/token.h"
#include "tests/test_support.h"

namespace authsvc::testing {
namespace {

Decision login(const Snapshot& snapshot, const std::string& name, const std::string& token) {
  AuthRequest request;
  request.endpoint = Endpoint::user;
  request.username = name;
  request.password = token;
  return decide(request, snapshot, std::chrono::system_clock::now());
}

// A value as SQL would write it: the same text whichever database it
// came from.
std::string sql_literal(const SqlParam& param) {
  const SqlParam::Value& v = param.value();
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&v)) {
    std::string quoted = "'";
    for (char c : *s) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    return quoted + "'";
  }
  std::string hex = "X'";
  for (std::uint8_t b : std::get<SqlBytes>(v).bytes) hex += fmt::format("{:02X}", b);
  return hex + "'";
}

}  // namespace

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
  for (const FixtureUser& user : fixture_users()) record_issued_token(user.token);
}

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

std::vector<int> fixture_versions() {
  std::vector<int> versions;
  for (int version : migration_numbers()) {
    if (std::filesystem::exists(fixture_path(version))) versions.push_back(version);
  }
  return versions;
}

TableColumns columns_of(SqlDatabase& db) {
  TableColumns columns;
  for (const std::string& table : db.table_names()) columns[table] = db.column_names(table);
  return columns;
}

void forget_moved_columns(TableColumns& columns) {
  for (const char* moved : {"email", "token_hash", "token_rotated_at"}) {
    std::erase(columns["users"], moved);
  }
}

std::multiset<std::string> rows_of(SqlDatabase& db, const TableColumns& columns) {
  std::multiset<std::string> rows;
  for (const auto& [table, names] : columns) {
    std::string select;
    for (const std::string& column : names)
      select += (select.empty() ? "\"" : ", \"") + column + "\"";
    db.query("SELECT " + select + " FROM \"" + table + "\"", {}, [&](const SqlRow& row) {
      std::string text = table + ": ";
      for (std::size_t i = 0; i < names.size(); ++i) {
        text += (i == 0 ? "" : ",") + sql_literal(row.value(static_cast<int>(i)));
      }
      rows.insert(text);
    });
  }
  return rows;
}

void check_rows_kept(const std::multiset<std::string>& before,
                     const std::multiset<std::string>& after) {
  CHECK(before.size() > 5);
  std::vector<std::string> lost;
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                      std::back_inserter(lost));
  for (const std::string& row : lost) {
    // The hashes in users are not shown (a failure is printed in CTest's
    // log, which the leak check searches for them).
    CHECK_MESSAGE(false, "row lost or changed: " << row.substr(0, row.find(",X'")));
  }
}

void check_migrated_fixture(SqlStore& store, int version) {
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
  std::shared_ptr<const Snapshot> snapshot = pulse_snapshot(store.load_users(nullptr));
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
  if (version >= 4) expected_actions.insert(expected_actions.end(), {"user owner add", "user set"});
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

  // What the message sampler saw, bytes as they were.
  if (version >= 7) {
    std::vector<ExchangeSample> samples = store.exchange_samples();
    REQUIRE(samples.size() == 1);
    CHECK(samples[0].exchange == ResourceKey{"/", "exchange/bob/builds"});
    CHECK(samples[0].inspected == 2);
    CHECK(samples[0].last.routing_key == "build.linux.opt");
    CHECK(samples[0].json_keys == std::vector<std::string>{"id"});
    REQUIRE(samples[0].violations.size() == 1);
    CHECK(samples[0].violations[0].kind == MessageViolation::not_json);
    CHECK(samples[0].violations[0].example.payload == std::string("\xff\x00"
                                                                  "ab",
                                                                  4));
    CHECK(samples[0].violations[0].mailed_count == 1);
    std::vector<ExchangeSample> unmailed = store.unmailed_violations();
    CHECK(unmailed.empty());  // its one violation was mailed
  } else {
    CHECK(store.exchange_samples().empty());
  }

  // Queues capped, idle and deleted, and accounts' over-limit modes.
  if (version >= 8) {
    CHECK(store.find_user("carol")->over_limit == OverLimit::cap);
    CHECK(store.find_user("bob")->over_limit == OverLimit::remove);
    CHECK_FALSE(store.find_user("alice")->over_limit);
    std::vector<QueueNotice> notices = store.queue_notices();
    REQUIRE(notices.size() == 3);
    CHECK(notices[2].state == QueueNoticeState::capped);
    std::vector<IdleQueue> idle = store.idle_queues();
    REQUIRE(idle.size() == 2);
    CHECK(idle[0].orphan_mailed_at == "2024-08-02T09:00:00.000000Z");
    CHECK(idle[1].orphan_mailed_at.empty());
    std::vector<DeletedQueue> deleted = store.deleted_queues();
    REQUIRE(deleted.size() == 1);
    CHECK(deleted[0].threshold == 500);
  } else {
    CHECK_FALSE(store.find_user("carol")->over_limit);
    CHECK(store.idle_queues().empty());
    CHECK(store.deleted_queues().empty());
  }

  // And it takes changes, numbered after what it held.
  std::string token = store.add_user(NewUser{"erin", {"erin@example.org"}, {}, {"/"}, ""});
  record_issued_token(token);
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
  store.update_user("carol", [] {
    UserUpdate update;
    update.over_limit = std::optional<OverLimit>(OverLimit::cap);
    return update;
  }());
  CHECK(store.find_user("carol")->over_limit == OverLimit::cap);
  store.put_queue_notice(
      QueueNotice{{"/", "queue/erin/q"}, "erin", QueueNoticeState::capped, 9, ""}, {});
}

}  // namespace authsvc::testing
