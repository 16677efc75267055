// `authsvc store copy` (store_copy.h), from every implementation to every
// other (store_contract.h names them): everything a store holds arrives, as
// the stores' own interfaces read it back.
#include "authsvc/store/store_copy.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "authsvc/core/timestamp.h"
#include "authsvc/core/token.h"
#include "authsvc/store/sql_store.h"
#include "authsvc/store/store_contract.h"
#include "tests/test_support.h"

namespace authsvc::store_contract {

template <typename From, typename To>
struct Direction {
  using Source = From;
  using Target = To;
};

}  // namespace authsvc::store_contract

namespace copy_directions {
using authsvc::store_contract::Direction;
using authsvc::store_contract::Postgres;
using authsvc::store_contract::Sqlite;
using SqliteToSqlite = Direction<Sqlite, Sqlite>;
using SqliteToPostgres = Direction<Sqlite, Postgres>;
using PostgresToSqlite = Direction<Postgres, Sqlite>;
using PostgresToPostgres = Direction<Postgres, Postgres>;
}  // namespace copy_directions

TYPE_TO_STRING_AS("sqlite to sqlite", copy_directions::SqliteToSqlite);
TYPE_TO_STRING_AS("sqlite to postgresql", copy_directions::SqliteToPostgres);
TYPE_TO_STRING_AS("postgresql to sqlite", copy_directions::PostgresToSqlite);
TYPE_TO_STRING_AS("postgresql to postgresql", copy_directions::PostgresToPostgres);

#define AUTHSVC_COPY_DIRECTIONS                                           \
  ::copy_directions::SqliteToSqlite, ::copy_directions::SqliteToPostgres, \
      ::copy_directions::PostgresToSqlite, ::copy_directions::PostgresToPostgres

namespace authsvc::store_contract {
namespace {

const Actor kCli{"cli", "tester"};

// What a store's interfaces say it holds, compared across stores as text.
std::string everything(Store& store) {
  std::string out;
  for (const UserInfo& u : store.list_users()) {
    out += fmt::format(
        "user {} active={} owners={} tags={} vhosts={} created={} updated={} credential={} "
        "issued={} previous_until={} previous_issued={} expires={} lead={} warn={} delete={}\n",
        u.name, u.active, fmt::join(u.owners, ","), fmt::join(u.tags, ","),
        fmt::join(u.vhosts, ","), u.created_at, u.updated_at, to_string(u.credential),
        u.credential_issued_at, u.previous_valid_until, u.previous_issued_at, u.expires_at,
        u.expiry_notice_lead.value_or(-1), u.queue_warn.value_or(-1), u.queue_delete.value_or(-1));
  }
  std::int64_t last = 0;
  for (const UserRecord& r : to_records(store.load_users(&last))) {
    out += fmt::format("record {} hash={} previous={}\n", r.name, fmt::join(r.credential.hash, "."),
                       r.previous ? fmt::format("{}", fmt::join(r.previous->hash, ".")) : "-");
  }
  for (const ResourceKey& q : store.queue_exemptions()) out += "exempt " + q.name + "\n";
  for (const QueueNotice& n : store.queue_notices()) {
    out += fmt::format("queue notice {} {} {} {} {}\n", n.queue.name, n.owner, to_string(n.state),
                       n.messages, n.since);
  }
  for (const ExchangeNotice& n : store.exchange_notices()) {
    out +=
        fmt::format("exchange notice {} {} {} {}\n", n.exchange.name, n.owner, n.problem, n.since);
  }
  for (const OutboxMail& m : store.outbox(100)) {
    out += fmt::format("mail {} {} {} {} {}\n", m.id, m.recipient, m.subject, m.body, m.attempts);
  }
  for (const ApiKeyInfo& k : store.api_keys_of("alice@example.org")) {
    out += fmt::format("key {} {} {} {} {}\n", k.id, k.label, k.created_at, k.expires_at,
                       k.revoked_at);
  }
  for (const std::string& name : store.deleted_user_names()) out += "deleted " + name + "\n";
  for (const AuditEvent& e : store.unexported_audit_events(0)) {
    out += fmt::format("event {} {} {} {} {} {} {}\n", e.id, e.ts, e.actor, e.operator_name,
                       e.action, e.user, e.detail);
  }
  return out;
}

// A store with something in every table.
void fill(Store& store) {
  testing::record_issued_token(store.add_user(
      NewUser{"alice",
              {"alice@example.org", "Bob@Example.org"},
              {"monitoring"},
              {"/", "x"},
              rfc3339_utc(std::chrono::system_clock::now() + std::chrono::hours(48))}));
  testing::record_issued_token(
      store.add_user(NewUser{"carol", {"carol@example.org"}, {}, {"/"}, ""}));
  testing::record_issued_token(
      store.add_user(NewUser{"gone", {"gone@example.org"}, {}, {"/"}, ""}));
  testing::record_issued_token(store.rotate_token("alice", std::chrono::hours(1)));
  REQUIRE(store.record_expiry_notice("alice", store.find_user("alice")->expires_at, 86400, {}));
  store.set_active("carol", false);
  store.delete_user("gone");
  UserUpdate limits;
  limits.queue_warn = 10;
  limits.queue_delete = 20;
  store.update_user("carol", limits);
  store.import_users({ImportedUser{
      "legacy",
      {},
      {"/"},
      Credential{CredentialScheme::rabbit_sha256, std::vector<std::uint8_t>(36, 7)}}});
  store.set_queue_exempt({"/", "queue/alice/big"}, "alice", true);
  store.put_queue_notice(
      QueueNotice{{"/", "queue/carol/q"}, "carol", QueueNoticeState::warned, 15, ""},
      {OutboxMail{0, "carol@example.org", "queue warned", "body", 0}});
  store.put_exchange_notice(ExchangeNotice{{"/", "exchange/alice/f"}, "alice", "fanout", ""}, {});
  store.outbox_failed(store.outbox(1).front().id, "421 try later");
  NewApiKey key = store.add_api_key("alice@example.org", "ci", "");
  testing::record_issued_token(key.key);
  store.add_api_key("alice@example.org", "old", "");
  store.revoke_api_key(key.info.id, "alice@example.org");
  std::string now = rfc3339_utc(std::chrono::system_clock::now());
  store.put_session(WebSession{hash_token("a session"), "alice@example.org", now, now});
  store.put_sign_in(WebSignIn{hash_token("a state"), hash_token("a browser"), "/", now});
  store.mark_audit_events_exported(3);
}

}  // namespace

TEST_CASE_TEMPLATE("store copy: everything arrives, read back the same, and a server reloads", D,
                   AUTHSVC_COPY_DIRECTIONS) {
  auto from = D::Source::make();
  auto to = D::Target::make();
  std::unique_ptr<Store> source = from->connect(kCli);
  fill(*source);
  std::unique_ptr<Store> target = to->connect(kCli);
  std::int64_t followed = 0;
  target->load_users(&followed);

  StoreCopyResult result = copy_store(from->location(), to->location(), kCli, false);
  std::map<std::string, std::int64_t> rows;
  for (const TableCopy& t : result.tables) rows[t.table] = t.rows;
  CHECK(result.tables.front().table == "users");
  CHECK(rows["users"] == 3);
  CHECK(rows["credentials"] == 4);  // alice's current and previous
  CHECK(rows["user_owners"] == 3);
  CHECK(rows["api_keys"] == 2);
  CHECK(rows["web_sessions"] == 1);
  CHECK(rows["web_sign_ins"] == 1);
  CHECK(rows["outbox"] == 1);
  CHECK(result.schema_version == source->schema_version());
  // PostgreSQL's planner knows what arrived (ANALYZE), as serve's load of
  // every user is planned by it.
  auto& target_db = dynamic_cast<SqlStore&>(*target).db();
  if (target_db.dialect() == SqlDialect::postgresql) {
    CHECK(target_db.query_int64("SELECT reltuples::bigint FROM pg_class WHERE oid = "
                                "'users'::regclass") == 3);
  }

  std::string copied = everything(*target);
  // Everything the source says, and one event more at the end: the copy's.
  std::string original = everything(*source);
  REQUIRE(copied.starts_with(original.substr(0, original.find("event "))));
  std::vector<AuditEvent> events = target->unexported_audit_events(0);
  std::vector<AuditEvent> before = source->unexported_audit_events(0);
  REQUIRE(events.size() == before.size() + 1);
  CHECK(events.back().action == "store copy");
  CHECK(events.back().actor == "cli");
  CHECK(events.back().id > before.back().id);
  CHECK(events.back().detail.find("3 users") != std::string::npos);
  for (std::size_t i = 0; i < before.size(); ++i) CHECK(events[i].id == before[i].id);
  // The export mark came along: the events up to 3 were in the old
  // server's audit log already.
  CHECK(target->unexported_audit_events(0).front().id == 4);
  // A server that followed the target before reloads every user.
  std::int64_t last = 0;
  CHECK_FALSE(target->changed_users_since(followed, 1000, last));
  // And the copy works as a store: its ids go on past the copied ones.
  NewApiKey key = target->add_api_key("alice@example.org", "new", "");
  testing::record_issued_token(key.key);
  for (const ApiKeyInfo& k : source->api_keys_of("alice@example.org")) CHECK(key.info.id > k.id);
}

TEST_CASE_TEMPLATE("store copy: a target with users is refused, and --force replaces all of it", D,
                   AUTHSVC_COPY_DIRECTIONS) {
  auto from = D::Source::make();
  auto to = D::Target::make();
  std::unique_ptr<Store> source = from->connect(kCli);
  fill(*source);
  std::unique_ptr<Store> target = to->connect(kCli);
  testing::record_issued_token(
      target->add_user(NewUser{"zed", {"zed@example.org"}, {}, {"/"}, ""}));
  std::string before = everything(*target);
  try {
    copy_store(from->location(), to->location(), kCli, false);
    FAIL("a target with a user was not refused");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find("holds 1 users; give --force") != std::string::npos);
  }
  CHECK(everything(*target) == before);

  copy_store(from->location(), to->location(), kCli, true);
  CHECK_FALSE(target->find_user("zed"));
  CHECK(target->find_user("alice"));
  CHECK(target->list_users().size() == source->list_users().size());
}

TEST_CASE_TEMPLATE("store copy: a copy onto itself is refused", D, AUTHSVC_COPY_DIRECTIONS) {
  auto from = D::Source::make();
  std::unique_ptr<Store> source = from->connect(kCli);
  fill(*source);
  CHECK_THROWS_WITH_AS(copy_store(from->location(), from->location(), kCli, true),
                       doctest::Contains("is the store to copy from"), StoreError);
  CHECK(source->list_users().size() == 3);
}

}  // namespace authsvc::store_contract
