// The store's contract (store.h), written once against its interfaces and
// run against every implementation that store_contract.h names: each test
// case here is one test per implementation, "...<sqlite>".
#include "authsvc/store/store_contract.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <thread>

#include "authsvc/core/decision.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/token.h"
#include "authsvc/store/lead_lock.h"
#include "tests/test_support.h"

TYPE_TO_STRING_AS("sqlite", authsvc::store_contract::Sqlite);
TYPE_TO_STRING_AS("postgresql", authsvc::store_contract::Postgres);

namespace authsvc::store_contract {
namespace {

const Actor kCli{"cli", "tester"};
const Actor kGuardian{"guardian", "svc-guardian"};
const Actor kServe{"serve", ""};

// A fresh store of the implementation, and a first connection to it, as
// the CLI.
template <typename Implementation>
struct Fresh {
  std::unique_ptr<StoreUnderTest> under_test = Implementation::make();
  std::unique_ptr<Store> connection = under_test->connect(kCli);
  Store& store = *connection;
};

// Every account has an owner: `owner`, or the name's own address.
NewUser new_user(const std::string& name, const std::string& owner = "",
                 std::vector<std::string> tags = {}, std::vector<std::string> vhosts = {"/"}) {
  return NewUser{name,
                 {owner.empty() ? name + "@example.org" : owner},
                 std::move(tags),
                 std::move(vhosts),
                 ""};
}

// add_user(s), with the tokens recorded in the ledger.
std::string add(Store& store, const NewUser& user) {
  std::string token = store.add_user(user);
  testing::record_issued_token(token);
  return token;
}

std::vector<std::string> add_all(Store& store, const std::vector<NewUser>& users,
                                 const std::string& action) {
  std::vector<std::string> tokens = store.add_users(users, action);
  testing::record_issued_tokens(tokens);
  return tokens;
}

std::string rotate(Store& store, const std::string& name) {
  std::string token = store.rotate_token(name);
  testing::record_issued_token(token);
  return token;
}

UserUpdate limits(std::optional<std::int64_t> warn, std::optional<std::int64_t> remove) {
  UserUpdate update;
  update.queue_warn = warn;
  update.queue_delete = remove;
  return update;
}

OutboxMail mail(const std::string& to, const std::string& subject) {
  return OutboxMail{0, to, subject, "body of " + subject, 0};
}

// The message of the StoreError that `call` throws; a failed check if it
// throws anything else, or nothing.
std::string store_error(const std::function<void()>& call) {
  try {
    call();
  } catch (const StoreError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("threw an exception that is not a StoreError: " << std::string(e.what()));
    return "";
  } catch (...) {
    FAIL_CHECK("threw something that is not a std::exception");
    return "";
  }
  FAIL_CHECK("threw nothing");
  return "";
}

// What the store keeps holds none of `tokens` in clear (and holds something,
// so that the check means something).
void check_no_token_stored(StoreUnderTest& under_test, const std::vector<std::string>& tokens) {
  std::string stored = under_test.stored_bytes();
  CHECK_FALSE(stored.empty());
  for (const std::string& token : tokens) CHECK(stored.find(token) == std::string::npos);
}

bool is_one_line(const std::string& text) {
  return !text.empty() && text.find('\n') == std::string::npos;
}

std::vector<AuditEvent> events(Store& store) { return store.unexported_audit_events(0); }

const UserRecord* record_of(const std::vector<UserRecord>& records, const std::string& name) {
  for (const UserRecord& r : records) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

// A user's every field, to compare a user before and after a change that
// must not have happened.
std::string everything_about(Store& store, const std::string& name) {
  std::optional<UserInfo> u = store.find_user(name);
  if (!u) return "(no such user)";
  auto limit = [](std::optional<std::int64_t> v) { return v ? std::to_string(*v) : "-"; };
  std::string text = u->name + "|" + (u->active ? "active" : "disabled") + "|" + u->created_at +
                     "|" + u->updated_at + "|" + u->credential_issued_at + "|" +
                     u->previous_valid_until + "|" + u->expires_at + "|" + limit(u->queue_warn) +
                     "|" + limit(u->queue_delete) + "|owners:";
  for (const std::string& o : u->owners) text += o + ",";
  text += "|tags:";
  for (const std::string& t : u->tags) text += t + ",";
  text += "|vhosts:";
  for (const std::string& v : u->vhosts) text += v + ",";
  for (const UserRecord& r : to_records(store.load_users(nullptr))) {
    if (r.name == name) text += r.active ? "|record active " : "|record disabled ";
    if (r.name == name) text += r.tags;
  }
  return text;
}

using testing::eventually;

bool looks_like_timestamp(const std::string& ts) {
  // RFC 3339, UTC: 2026-11-27T23:18:49.123456Z
  return ts.size() >= 20 && ts[4] == '-' && ts[10] == 'T' && ts.back() == 'Z';
}

}  // namespace

// ---- users ----

TEST_CASE_TEMPLATE("store contract: a fresh store holds nothing", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  CHECK_FALSE(s.store.find_user("alice"));
  CHECK(s.store.list_users().empty());
  CHECK(s.store.deleted_user_names().empty());
  std::int64_t last = -1;
  CHECK(s.store.load_users(&last).empty());
  CHECK(last == 0);
  std::optional<std::vector<UserChange>> changes = s.store.changed_users_since(0, 10, last);
  REQUIRE(changes);
  CHECK(changes->empty());
  CHECK(last == 0);
  CHECK(s.store.queue_exemptions().empty());
  CHECK(s.store.queue_notices().empty());
  CHECK(s.store.exchange_notices().empty());
  CHECK(s.store.outbox(100).empty());
  CHECK(events(s.store).empty());
  CHECK(s.store.schema_version() > 0);
}

TEST_CASE_TEMPLATE("store contract: a new user gets a token, and only its hash is stored", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  std::string token = add(
      s.store, new_user("alice", "alice@example.org", {"monitoring", "management", "monitoring"},
                        {"staging", "/", "staging"}));
  std::string other = add(s.store, new_user("bob"));
  CHECK(token.size() == 43);
  CHECK(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
      std::string::npos);
  CHECK(token != other);

  std::optional<UserInfo> alice = s.store.find_user("alice");
  REQUIRE(alice);
  CHECK(alice->name == "alice");
  CHECK(alice->owners == std::vector<std::string>{"alice@example.org"});
  CHECK(alice->credential == CredentialScheme::token);
  CHECK(alice->expires_at.empty());
  CHECK(alice->previous_valid_until.empty());
  CHECK(alice->tags == std::vector<std::string>{"management", "monitoring"});
  CHECK(alice->vhosts == std::vector<std::string>{"/", "staging"});
  CHECK(alice->active);
  CHECK(looks_like_timestamp(alice->created_at));
  CHECK(alice->updated_at == alice->created_at);
  CHECK(alice->credential_issued_at == alice->created_at);
  CHECK_FALSE(alice->queue_warn);
  CHECK_FALSE(alice->queue_delete);

  std::vector<UserRecord> records = to_records(s.store.load_users(nullptr));
  const UserRecord* record = record_of(records, "alice");
  REQUIRE(record);
  CHECK(record->credential == token_credential(token));
  CHECK_FALSE(record->previous);
  CHECK_FALSE(record->expires_at);
  CHECK(record->tags == "management monitoring");
  CHECK(record->vhosts == std::vector<std::string>{"/", "staging"});
  CHECK(record->active);

  check_no_token_stored(*s.under_test, {token, other});
}

TEST_CASE_TEMPLATE("store contract: list_users gives every user by name, never a token", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("carol"));
  add(s.store, new_user("alice"));
  add(s.store, new_user("bob", "bob@example.org", {}, {"v2"}));
  std::vector<UserInfo> users = s.store.list_users();
  REQUIRE(users.size() == 3);
  CHECK(users[0].name == "alice");
  CHECK(users[1].name == "bob");
  CHECK(users[1].owners == std::vector<std::string>{"bob@example.org"});
  CHECK(users[1].vhosts == std::vector<std::string>{"v2"});
  CHECK(users[2].name == "carol");
}

TEST_CASE_TEMPLATE("store contract: add_users adds all of them, in order, or none", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("taken"));
  std::size_t events_before = events(s.store).size();
  struct Case {
    std::vector<NewUser> users;
    std::string message;
  };
  const Case refused[] = {
      {{new_user("ann"), new_user("taken"), new_user("bea")}, "user 'taken' already exists"},
      {{new_user("ann"), new_user("9lives")}, "invalid user name '9lives'"},
      {{new_user("ann"), new_user("ann")}, "user 'ann' is given twice"},
      {{new_user("ann"), new_user("bea", "", {"bad tag"})}, "invalid tag 'bad tag'"},
      {{new_user("ann"), new_user("bea", "", {}, {})}, "a user needs at least one vhost"},
      {{new_user("ann"), new_user("bea", "", {}, {"bad\x01vhost"})}, "invalid vhost"},
  };
  for (const Case& c : refused) {
    CAPTURE(c.message);
    std::string message = store_error([&] { add_all(s.store, c.users, "user import"); });
    CHECK(message.find(c.message) != std::string::npos);
    CHECK_FALSE(s.store.find_user("ann"));
    CHECK_FALSE(s.store.find_user("bea"));
    CHECK(s.store.list_users().size() == 1);
    CHECK(events(s.store).size() == events_before);  // a failed change records nothing
  }

  std::vector<std::string> tokens =
      add_all(s.store, {new_user("ann"), new_user("bea"), new_user("cat")}, "user import");
  REQUIRE(tokens.size() == 3);
  std::vector<UserRecord> records = to_records(s.store.load_users(nullptr));
  const char* names[] = {"ann", "bea", "cat"};
  for (std::size_t i = 0; i < 3; ++i) {
    const UserRecord* r = record_of(records, names[i]);
    REQUIRE(r);
    CHECK(r->credential == token_credential(tokens[i]));
  }
  std::vector<AuditEvent> after = events(s.store);
  REQUIRE(after.size() == events_before + 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(after[events_before + i].action == "user import");
    CHECK(after[events_before + i].user == names[i]);
  }
}

TEST_CASE_TEMPLATE("store contract: names, tags and vhosts are checked, with one-line messages",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice"));
  CHECK(store_error([&] { add(s.store, new_user("alice")); }) == "user 'alice' already exists");
  for (std::string bad : {"", "9lives", "a/b", "a b", "exchange/x"}) {
    CAPTURE(bad);
    std::string message = store_error([&] { add(s.store, new_user(bad)); });
    CHECK(message.rfind("invalid user name '", 0) == 0);
    CHECK(is_one_line(message));
  }
  CHECK(store_error([&] { add(s.store, new_user(std::string(65, 'a'))); }).find("at most 64") !=
        std::string::npos);
  CHECK(store_error([&] {
          add(s.store, new_user("bob", "", {"bad tag"}));
        }).rfind("invalid tag 'bad tag'", 0) == 0);
  CHECK(store_error([&] {
          add(s.store, new_user("bob", "", {}, {""}));
        }).rfind("invalid vhost ''", 0) == 0);
  CHECK(store_error([&] { add(s.store, new_user("bob", "", {}, {})); }) ==
        "a user needs at least one vhost");
  // A value someone typed is quoted with its control characters escaped, so
  // that it cannot break the message's one line.
  CHECK(store_error([&] {
          add(s.store, new_user("bob\nroot"));
        }).rfind("invalid user name 'bob\\x0aroot'", 0) == 0);
  CHECK(store_error([&] {
          add(s.store, new_user("bob", "", {"a\r\nb"}));
        }).rfind("invalid tag 'a\\x0d\\x0ab'", 0) == 0);
  CHECK(store_error([&] { s.store.delete_user("x\ny"); }) == "no such user 'x\\x0ay'");
  CHECK(store_error([&] {
          s.store.set_queue_exempt(ResourceKey{"/", "queue/alice/a\nb"}, "alice", false);
        }) == "queue 'queue/alice/a\\x0ab' is not exempt");
  CHECK(s.store.list_users().size() == 1);
}

TEST_CASE_TEMPLATE("store contract: rotate_token issues a new token and the old one stops working",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  std::string first = add(s.store, new_user("alice"));
  std::string before = s.store.find_user("alice")->credential_issued_at;
  std::string second = rotate(s.store, "alice");
  CHECK(second.size() == 43);
  CHECK(second != first);
  UserRecord stored = to_records(s.store.load_users(nullptr)).at(0);
  CHECK(stored.credential == token_credential(second));
  CHECK_FALSE(stored.previous);  // no grace: the old token is gone
  CHECK(s.store.find_user("alice")->credential_issued_at >= before);
  CHECK(s.store.find_user("alice")->previous_valid_until.empty());
  AuditEvent event = events(s.store).back();
  CHECK(event.action == "user rotate");
  CHECK(event.user == "alice");
  check_no_token_stored(*s.under_test, {first, second});
}

// load_users merges three scans (users, credentials, vhosts) by user id:
// each user must get its own rows and no neighbour's, whatever each has.
TEST_CASE_TEMPLATE("store contract: load_users gives each user its own credentials and vhosts",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  std::string ann = add(s.store, new_user("ann", "", {"management"}, {"/", "a", "b"}));
  add(s.store, new_user("bea", "", {}, {"b"}));
  add(s.store, new_user("cat", "", {"monitoring"}, {"c"}));
  std::string dan = add(s.store, new_user("dan"));
  std::string cat = s.store.rotate_token("cat", std::chrono::hours(1));
  s.store.delete_user("bea");
  std::vector<UserRecord> records = to_records(s.store.load_users(nullptr));
  REQUIRE(records.size() == 3);
  const UserRecord* a = record_of(records, "ann");
  const UserRecord* c = record_of(records, "cat");
  const UserRecord* d = record_of(records, "dan");
  REQUIRE((a && c && d));
  CHECK_FALSE(record_of(records, "bea"));
  CHECK(a->credential == token_credential(ann));
  CHECK_FALSE(a->previous);
  CHECK(a->tags == "management");
  CHECK(a->vhosts == std::vector<std::string>{"/", "a", "b"});
  CHECK(c->credential == token_credential(cat));
  REQUIRE(c->previous);
  CHECK_FALSE(*c->previous == c->credential);
  CHECK(c->previous_valid_until > std::chrono::system_clock::now());
  CHECK(c->vhosts == std::vector<std::string>{"c"});
  CHECK(d->credential == token_credential(dan));
  CHECK_FALSE(d->previous);
  CHECK(d->tags.empty());
  CHECK(d->vhosts == std::vector<std::string>{"/"});
  CHECK(s.store.load_users(nullptr).distinct_vhost_lists() == 3);
}

TEST_CASE_TEMPLATE("store contract: disable, enable and delete change what load_users gives", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice"));
  add(s.store, new_user("bob"));
  s.store.set_active("alice", false);
  CHECK_FALSE(s.store.find_user("alice")->active);
  CHECK_FALSE(record_of(to_records(s.store.load_users(nullptr)), "alice")->active);
  CHECK(record_of(to_records(s.store.load_users(nullptr)), "bob")->active);
  s.store.set_active("alice", true);
  CHECK(s.store.find_user("alice")->active);
  CHECK(record_of(to_records(s.store.load_users(nullptr)), "alice")->active);
  s.store.delete_user("alice");
  CHECK_FALSE(s.store.find_user("alice"));
  std::vector<UserRecord> left = to_records(s.store.load_users(nullptr));
  REQUIRE(left.size() == 1);
  CHECK(left[0].name == "bob");
}

TEST_CASE_TEMPLATE("store contract: a change to a user that does not exist is refused", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice"));
  s.store.delete_user("alice");
  std::size_t events_before = events(s.store).size();
  UserUpdate tags_update;
  tags_update.tags = std::vector<std::string>{"monitoring"};
  for (const auto& change : std::vector<std::function<void()>>{
           [&] { rotate(s.store, "alice"); }, [&] { s.store.set_active("alice", false); },
           [&] { s.store.set_active("ghost", true); }, [&] { s.store.delete_user("alice"); },
           [&] { s.store.update_user("alice", tags_update); },
           [&] { s.store.update_user("alice", limits(1, 2)); },
           [&] { s.store.add_owner("alice", "x@example.org"); },
           [&] { s.store.remove_owner("alice", "alice@example.org"); },
           [&] {
             s.store.add_owners({{"alice", "x@example.org"}});
           }}) {
    std::string message = store_error(change);
    CHECK((message == "no such user 'alice'" || message == "no such user 'ghost'"));
  }
  CHECK(events(s.store).size() == events_before);
  CHECK(s.store.list_users().empty());
}

TEST_CASE_TEMPLATE("store contract: update_user sets what it is given and leaves the rest", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice", "old@example.org", {"monitoring"}, {"/"}));
  UserUpdate change;
  change.expires_at = "2099-01-01T00:00:00.000000Z";
  s.store.update_user("alice", change);
  UserInfo info = *s.store.find_user("alice");
  CHECK(info.expires_at == "2099-01-01T00:00:00.000000Z");
  CHECK(info.tags == std::vector<std::string>{"monitoring"});
  CHECK(info.vhosts == std::vector<std::string>{"/"});
  CHECK(events(s.store).back().action == "user set");
  CHECK(events(s.store).back().detail == "expires=2099-01-01T00:00:00.000000Z");

  UserUpdate tags;
  tags.tags = std::vector<std::string>{};
  s.store.update_user("alice", tags);
  info = *s.store.find_user("alice");
  CHECK(info.tags.empty());
  CHECK(info.expires_at == "2099-01-01T00:00:00.000000Z");
  CHECK(record_of(to_records(s.store.load_users(nullptr)), "alice")->tags.empty());

  UserUpdate vhosts;
  vhosts.vhosts = std::vector<std::string>{"v2", "v1", "v2"};
  s.store.update_user("alice", vhosts);
  info = *s.store.find_user("alice");
  CHECK(info.vhosts == std::vector<std::string>{"v1", "v2"});
  CHECK(record_of(to_records(s.store.load_users(nullptr)), "alice")->vhosts ==
        std::vector<std::string>{"v1", "v2"});

  s.store.update_user("alice", limits(100, 500));
  info = *s.store.find_user("alice");
  CHECK(info.queue_warn == 100);
  CHECK(info.queue_delete == 500);
  CHECK(info.owners == std::vector<std::string>{"old@example.org"});
  // A threshold left out stays; one set to nullopt goes back to the default.
  UserUpdate warn_only;
  warn_only.queue_warn = std::optional<std::int64_t>();
  s.store.update_user("alice", warn_only);
  info = *s.store.find_user("alice");
  CHECK_FALSE(info.queue_warn);
  CHECK(info.queue_delete == 500);
  CHECK(looks_like_timestamp(info.updated_at));
  CHECK(info.updated_at >= info.created_at);
}

TEST_CASE_TEMPLATE("store contract: update_user applies all of an update or nothing of it", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice", "old@example.org", {"monitoring"}, {"/"}));
  s.store.update_user("alice", limits(100, 500));
  std::string before = everything_about(s.store, "alice");
  std::size_t events_before = events(s.store).size();

  auto with_expiry = [](UserUpdate update) {
    update.expires_at = "2099-01-01T00:00:00.000000Z";
    update.tags = std::vector<std::string>{"management"};
    return update;
  };
  struct Case {
    UserUpdate update;
    std::string message;
  };
  UserUpdate bad_tag = with_expiry({});
  bad_tag.tags = std::vector<std::string>{"bad tag"};
  UserUpdate no_vhost = with_expiry({});
  no_vhost.vhosts = std::vector<std::string>{};
  UserUpdate later_vhost = with_expiry(limits(500, 100));
  later_vhost.vhosts = std::vector<std::string>{"v2"};
  UserUpdate delete_below_current_warn = with_expiry({});
  delete_below_current_warn.queue_delete = std::optional<std::int64_t>(50);
  UserUpdate warn_above_current_delete = with_expiry({});
  warn_above_current_delete.queue_warn = std::optional<std::int64_t>(600);
  const Case cases[] = {
      {with_expiry(limits(500, 100)),
       "the warning threshold (500) must be below the deletion threshold (100)"},
      {later_vhost, "the warning threshold (500) must be below the deletion threshold (100)"},
      {delete_below_current_warn,
       "the warning threshold (100) must be below the deletion threshold (50)"},
      {warn_above_current_delete,
       "the warning threshold (600) must be below the deletion threshold (500)"},
      {with_expiry(limits(0, std::nullopt)), "queue thresholds are counts of messages, above 0"},
      {with_expiry(limits(std::nullopt, -5)), "queue thresholds are counts of messages, above 0"},
      {bad_tag, "invalid tag 'bad tag'"},
      {no_vhost, "a user needs at least one vhost"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    std::string message = store_error([&] { s.store.update_user("alice", c.update); });
    CHECK(message.rfind(c.message, 0) == 0);
    CHECK(is_one_line(message));
    // Nothing changed, not even the expiry; and nothing was recorded.
    CHECK(everything_about(s.store, "alice") == before);
    CHECK(events(s.store).size() == events_before);
  }
}

TEST_CASE_TEMPLATE("store contract: queue thresholds are checked as they will be after the update",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice"));
  using L = std::optional<std::int64_t>;
  s.store.update_user("alice", limits(100, 500));
  // Both move past each other's current value: fine, as they will be.
  s.store.update_user("alice", limits(600, 1000));
  CHECK(s.store.find_user("alice")->queue_warn == 600);
  CHECK(s.store.find_user("alice")->queue_delete == 1000);
  UserUpdate delete_default;
  delete_default.queue_delete = L();
  s.store.update_user("alice", delete_default);  // no deletion threshold: any warning
  CHECK_FALSE(s.store.find_user("alice")->queue_delete);
  UserUpdate delete_300;
  delete_300.queue_delete = L(300);
  CHECK(store_error([&] { s.store.update_user("alice", delete_300); }) ==
        "the warning threshold (600) must be below the deletion threshold (300)");
  s.store.update_user("alice", limits(L(), 300));  // warn back to the default
  UserUpdate warn_equal;
  warn_equal.queue_warn = L(300);
  CHECK(store_error([&] { s.store.update_user("alice", warn_equal); }) ==
        "the warning threshold (300) must be below the deletion threshold (300)");
  UserUpdate warn_299;
  warn_299.queue_warn = L(299);
  s.store.update_user("alice", warn_299);
  CHECK(s.store.find_user("alice")->queue_warn == 299);
  CHECK(s.store.find_user("alice")->queue_delete == 300);
}

TEST_CASE_TEMPLATE("store contract: deleted user names are those deleted and not created again",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  for (const char* name : {"carol", "alice", "bob", "dave"}) add(s.store, new_user(name));
  s.store.delete_user("carol");
  s.store.delete_user("bob");
  s.store.delete_user("alice");
  add(s.store, new_user("bob"));
  CHECK(s.store.deleted_user_names() == std::vector<std::string>{"alice", "carol"});
  // Seen alike through another connection.
  CHECK(s.under_test->connect(kGuardian)->deleted_user_names() ==
        std::vector<std::string>{"alice", "carol"});
  // Once deleted, a name stays marked, created again or not; by its exact
  // spelling (the broker's names differ by case).
  CHECK(s.store.was_deleted("carol"));
  CHECK(s.store.was_deleted("bob"));
  CHECK_FALSE(s.store.was_deleted("Carol"));
  CHECK_FALSE(s.store.was_deleted("dave"));
  CHECK_FALSE(s.store.was_deleted("erin"));
}

// ---- the audit trail ----

TEST_CASE_TEMPLATE(
    "store contract: every change records one audit event with its connection's actor, a failed "
    "one none",
    Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  std::unique_ptr<Store> guardian = s.under_test->connect(kGuardian);
  std::vector<std::string> tokens;
  UserUpdate expiry_update;
  expiry_update.expires_at = "2099-01-01T00:00:00.000000Z";
  ResourceKey queue{"/", "queue/alice/archive"};
  struct Change {
    Store* through;
    std::function<void()> make;
    std::string action;
    std::string user;
  };
  const Change changes[] = {
      {&s.store, [&] { tokens.push_back(add(s.store, new_user("alice"))); }, "user add", "alice"},
      {&s.store, [&] { tokens.push_back(rotate(s.store, "alice")); }, "user rotate", "alice"},
      {&s.store, [&] { s.store.set_active("alice", false); }, "user disable", "alice"},
      {&s.store, [&] { s.store.set_active("alice", true); }, "user enable", "alice"},
      {&s.store, [&] { s.store.update_user("alice", expiry_update); }, "user set", "alice"},
      {guardian.get(), [&] { guardian->set_queue_exempt(queue, "alice", true); }, "queue exempt",
       "alice"},
      {guardian.get(), [&] { guardian->set_queue_exempt(queue, "alice", false); }, "queue unexempt",
       "alice"},
      {&s.store,
       [&] {
         for (std::string& t : add_all(s.store, {new_user("bob")}, "user import")) {
           tokens.push_back(std::move(t));
         }
       },
       "user import", "bob"},
      {&s.store, [&] { s.store.delete_user("alice"); }, "user delete", "alice"},
  };
  std::int64_t last_id = 0;
  for (const Change& change : changes) {
    CAPTURE(change.action);
    std::size_t before = events(s.store).size();
    change.make();
    std::vector<AuditEvent> after = events(s.store);
    REQUIRE(after.size() == before + 1);
    const AuditEvent& e = after.back();
    CHECK(e.action == change.action);
    CHECK(e.user == change.user);
    const Actor& actor = change.through == &s.store ? kCli : kGuardian;
    CHECK(e.actor == actor.actor);
    CHECK(e.operator_name == actor.operator_name);
    CHECK(looks_like_timestamp(e.ts));
    CHECK(e.id > last_id);
    last_id = e.id;
    for (const std::string& token : tokens) CHECK(e.detail.find(token) == std::string::npos);
  }
  // Failed changes record nothing.
  std::size_t before = events(s.store).size();
  for (const auto& failing : std::vector<std::function<void()>>{
           [&] { s.store.delete_user("alice"); },
           [&] { add(s.store, new_user("bob")); },
           [&] { s.store.update_user("bob", limits(5, 1)); },
           [&] { guardian->set_queue_exempt(queue, "alice", false); },
       }) {
    store_error(failing);
  }
  guardian->set_queue_exempt(queue, "alice", true);
  store_error([&] { guardian->set_queue_exempt(queue, "alice", true); });
  CHECK(events(s.store).size() == before + 1);
}

TEST_CASE_TEMPLATE(
    "store contract: audit export gives the events after its mark and after_id, oldest first", Impl,
    AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  for (const char* name : {"a1", "a2", "a3", "a4"}) add(s.store, new_user(name));
  std::vector<AuditEvent> all = events(s.store);
  REQUIRE(all.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(all[i].user == "a" + std::to_string(i + 1));
  CHECK(all[0].id < all[1].id);

  std::vector<AuditEvent> after = s.store.unexported_audit_events(all[2].id);
  REQUIRE(after.size() == 1);
  CHECK(after[0].id == all[3].id);

  s.store.mark_audit_events_exported(all[1].id);
  std::vector<AuditEvent> left = s.store.unexported_audit_events(0);
  REQUIRE(left.size() == 2);
  CHECK(left[0].id == all[2].id);
  CHECK(left[1].id == all[3].id);
  CHECK(s.store.unexported_audit_events(all[2].id).size() == 1);
  // The mark is the store's, not the connection's: the next server sees it.
  std::unique_ptr<Store> next = s.under_test->connect(kServe);
  CHECK(next->unexported_audit_events(0).size() == 2);
  next->mark_audit_events_exported(all[3].id);
  CHECK(s.store.unexported_audit_events(0).empty());
  add(s.store, new_user("a5"));
  REQUIRE(next->unexported_audit_events(0).size() == 1);
  CHECK(next->unexported_audit_events(0)[0].user == "a5");
}

TEST_CASE_TEMPLATE("store contract: the audit export mark never moves back", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  for (const char* name : {"b1", "b2", "b3"}) add(s.store, new_user(name));
  std::vector<AuditEvent> all = events(s.store);
  REQUIRE(all.size() == 3);
  // Two nodes: the new exporter marked the third, the old one marks the
  // first late. The third stays the mark.
  std::unique_ptr<Store> other = s.under_test->connect(kServe);
  other->mark_audit_events_exported(all[2].id);
  s.store.mark_audit_events_exported(all[0].id);
  CHECK(s.store.unexported_audit_events(0).empty());
  CHECK(other->unexported_audit_events(0).empty());
  add(s.store, new_user("b4"));
  REQUIRE(other->unexported_audit_events(0).size() == 1);
  CHECK(other->unexported_audit_events(0)[0].user == "b4");
}

TEST_CASE_TEMPLATE("store contract: one lead lock holder at a time", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  for (LeadKind kind : {LeadKind::guardian, LeadKind::audit_export}) {
    CAPTURE(to_string(kind));
    std::unique_ptr<LeadLock> a = open_lead_lock(s.under_test->location(), kind);
    std::unique_ptr<LeadLock> b = open_lead_lock(s.under_test->location(), kind);
    CHECK(a->hold());
    CHECK(a->last_error().empty());
    CHECK_FALSE(b->hold());
    CHECK(b->last_error().empty());  // standing by is no error
    CHECK(a->hold());                // asked again: still the holder
    CHECK_FALSE(b->hold());
    // Given up: the next to ask takes it, once the database has let go
    // (PostgreSQL: as the session ends, a moment after it is closed).
    a->release();
    CHECK(testing::eventually([&] { return b->hold(); }));
    CHECK_FALSE(a->hold());
    b.reset();  // a holder that goes away gives it up
    CHECK(testing::eventually([&] { return a->hold(); }));
  }
  // The two leads are apart: holding one takes nothing from the other.
  std::unique_ptr<LeadLock> guardian = open_lead_lock(s.under_test->location(), LeadKind::guardian);
  std::unique_ptr<LeadLock> exporter =
      open_lead_lock(s.under_test->location(), LeadKind::audit_export);
  CHECK(guardian->hold());
  CHECK(exporter->hold());
}

TEST_CASE_TEMPLATE("store contract: audit export gives at most 10,000 events a call", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  ResourceKey queue{"/", "queue/alice/q"};
  for (int i = 0; i < 10001; ++i) s.store.set_queue_exempt(queue, "alice", i % 2 == 0);
  std::vector<AuditEvent> first = s.store.unexported_audit_events(0);
  REQUIRE(first.size() == 10000);
  s.store.mark_audit_events_exported(first.back().id);
  std::vector<AuditEvent> rest = s.store.unexported_audit_events(0);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].id > first.back().id);
  CHECK(rest[0].action == "queue exempt");
}

// ---- the feed serve follows ----

TEST_CASE_TEMPLATE("store contract: data_version moves when another connection commits", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  std::unique_ptr<Store> server = s.under_test->connect(kServe);
  std::int64_t version = server->data_version();
  CHECK(server->data_version() == version);  // nothing committed, nothing moves
  server->find_user("alice");
  CHECK(server->data_version() == version);

  const std::vector<std::function<void()>> commits = {
      [&] { add(s.store, new_user("alice")); },
      [&] { s.store.set_active("alice", false); },
      [&] { s.store.delete_user("alice"); },
      [&] {
        s.store.put_queue_notice(
            QueueNotice{{"/", "queue/bob/q"}, "bob", QueueNoticeState::warned, 10, ""}, {});
      },
  };
  for (std::size_t i = 0; i < commits.size(); ++i) {
    CAPTURE(i);
    commits[i]();
    CHECK(eventually([&] { return server->data_version() != version; }));
    version = server->data_version();
  }
}

TEST_CASE_TEMPLATE(
    "store contract: load_users gives what a snapshot needs, and the last event's id", Impl,
    AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  std::string alice = add(s.store, new_user("alice", "", {"monitoring"}, {"/", "v2"}));
  std::string bob = add(s.store, new_user("bob"));
  std::string carol = add(s.store, new_user("carol"));
  s.store.set_active("bob", false);
  std::int64_t last = -1;
  std::vector<UserRecord> records = to_records(s.under_test->connect(kServe)->load_users(&last));
  CHECK(records.size() == 3);
  CHECK(last == events(s.store).back().id);
  CHECK(record_of(records, "alice")->vhosts == std::vector<std::string>{"/", "v2"});
  CHECK(record_of(records, "alice")->tags == "monitoring");
  CHECK_FALSE(record_of(records, "bob")->active);

  // The snapshot decides logins with them.
  std::shared_ptr<const Snapshot> snapshot = testing::pulse_snapshot(records);
  auto login = [&](const std::string& name, const std::string& token) {
    AuthRequest request;
    request.endpoint = Endpoint::user;
    request.username = name;
    request.password = token;
    return decide(request, *snapshot, std::chrono::system_clock::now());
  };
  CHECK(login("alice", alice).allow);
  CHECK(login("alice", alice).tags == "monitoring");
  CHECK_FALSE(login("alice", carol).allow);
  CHECK_FALSE(login("bob", bob).allow);
  CHECK(login("bob", bob).rule == "disabled-user");
  CHECK(login("carol", carol).allow);
}

TEST_CASE_TEMPLATE(
    "store contract: changed_users_since names the users changed after an event, each as it is now",
    Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice"));
  add(s.store, new_user("bob"));
  std::int64_t loaded = 0;
  s.store.load_users(&loaded);

  std::string alice = rotate(s.store, "alice");
  s.store.delete_user("bob");
  std::string carol = add(s.store, new_user("carol", "", {}, {"v2"}));
  UserUpdate tags;
  tags.tags = std::vector<std::string>{"management"};
  s.store.update_user("alice", tags);

  std::unique_ptr<Store> server = s.under_test->connect(kServe);
  std::int64_t last = -1;
  std::optional<std::vector<UserChange>> changes = server->changed_users_since(loaded, 10, last);
  REQUIRE(changes);
  CHECK(last == events(s.store).back().id);
  std::map<std::string, std::optional<UserRecord>> by_name;
  for (UserChange& change : *changes) by_name[change.name] = std::move(change.record);
  REQUIRE(by_name.size() == 3);
  REQUIRE(by_name["alice"]);
  CHECK(by_name["alice"]->credential == token_credential(alice));
  CHECK(by_name["alice"]->tags == "management");
  CHECK_FALSE(by_name["bob"]);  // deleted
  REQUIRE(by_name["carol"]);
  CHECK(by_name["carol"]->credential == token_credential(carol));
  CHECK(by_name["carol"]->vhosts == std::vector<std::string>{"v2"});

  // Nothing since: nothing, and the position stays.
  std::int64_t again = -1;
  changes = server->changed_users_since(last, 10, again);
  REQUIRE(changes);
  CHECK(changes->empty());
  CHECK(again == last);
  // More users changed than the limit: reload them all.
  CHECK(server->changed_users_since(loaded, 3, again).has_value());
  CHECK_FALSE(server->changed_users_since(loaded, 2, again).has_value());
}

// ---- the guardian's state ----

TEST_CASE_TEMPLATE(
    "store contract: queue exemptions are set and removed once each, and audited with the owner",
    Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  ResourceKey archive{"/", "queue/alice/archive"};
  ResourceKey other{"/", "queue/alice/a-first"};
  ResourceKey staging{"staging", "queue/bob/x"};
  s.store.set_queue_exempt(archive, "alice", true);
  CHECK(store_error([&] { s.store.set_queue_exempt(archive, "alice", true); }) ==
        "queue 'queue/alice/archive' is already exempt");
  s.store.set_queue_exempt(staging, "bob", true);
  s.store.set_queue_exempt(other, "alice", true);
  CHECK(s.store.queue_exemptions() == std::vector<ResourceKey>{other, archive, staging});
  CHECK(s.under_test->connect(kGuardian)->queue_exemptions().size() == 3);
  s.store.set_queue_exempt(archive, "alice", false);
  CHECK(s.store.queue_exemptions() == std::vector<ResourceKey>{other, staging});
  CHECK(store_error([&] { s.store.set_queue_exempt(archive, "alice", false); }) ==
        "queue 'queue/alice/archive' is not exempt");
  std::vector<AuditEvent> all = events(s.store);
  REQUIRE(all.size() == 4);
  CHECK(all[0].action == "queue exempt");
  CHECK(all[0].user == "alice");
  CHECK(all[0].detail == "vhost='/' queue='queue/alice/archive'");
  CHECK(all[1].user == "bob");
  CHECK(all[1].detail == "vhost='staging' queue='queue/bob/x'");
  CHECK(all[3].action == "queue unexempt");
  CHECK(all[3].detail == "vhost='/' queue='queue/alice/archive'");
}

TEST_CASE_TEMPLATE(
    "store contract: a queue notice and its mail are recorded together, and kept across a restart",
    Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  ResourceKey jobs{"/", "queue/alice/jobs"};
  ResourceKey old{"/", "queue/alice/old"};
  s.store.put_queue_notice(QueueNotice{jobs, "alice", QueueNoticeState::warned, 2500, ""},
                           {mail("alice@example.org", "warned")});
  s.store.put_queue_notice(
      QueueNotice{old, "alice", QueueNoticeState::warned, 7, "2024-01-02T03:04:05.000006Z"}, {});

  // Reopened, as after a restart: the same notices and the same outbox.
  std::unique_ptr<Store> again = s.under_test->connect(kGuardian);
  std::vector<QueueNotice> notices = again->queue_notices();
  REQUIRE(notices.size() == 2);
  CHECK(notices[0].queue == jobs);
  CHECK(notices[0].owner == "alice");
  CHECK(notices[0].state == QueueNoticeState::warned);
  CHECK(notices[0].messages == 2500);
  CHECK(looks_like_timestamp(notices[0].since));  // empty: now
  CHECK(notices[1].queue == old);
  CHECK(notices[1].since == "2024-01-02T03:04:05.000006Z");
  std::vector<OutboxMail> outbox = again->outbox(100);
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].recipient == "alice@example.org");
  CHECK(outbox[0].subject == "warned");
  CHECK(outbox[0].body == "body of warned");
  CHECK(outbox[0].attempts == 0);

  // Put again: the notice is replaced, not added.
  again->put_queue_notice(QueueNotice{jobs, "alice", QueueNoticeState::deleting, 9000, ""},
                          {mail("alice@example.org", "deleting")});
  notices = again->queue_notices();
  REQUIRE(notices.size() == 2);
  CHECK(notices[0].state == QueueNoticeState::deleting);
  CHECK(notices[0].messages == 9000);
  CHECK(again->outbox(100).size() == 2);

  // No address, no mail; the notice all the same.
  again->remove_queue_notice(old, {mail("", "no one to tell")});
  again->remove_queue_notice(jobs, {mail("alice@example.org", "deleted")});
  CHECK(again->queue_notices().empty());
  outbox = s.store.outbox(100);
  REQUIRE(outbox.size() == 3);
  CHECK(outbox[2].subject == "deleted");
  s.store.put_queue_notice(QueueNotice{jobs, "alice", QueueNoticeState::warned, 1, ""},
                           {mail("", "x")});
  CHECK(s.store.outbox(100).size() == 3);
  CHECK(s.store.queue_notices().size() == 1);
  // The guardian's state is not an audit event.
  CHECK(events(s.store).empty());
}

TEST_CASE_TEMPLATE("store contract: a capped queue's notice, and an account's over-limit mode",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice"));
  CHECK_FALSE(s.store.find_user("alice")->over_limit);
  UserUpdate cap;
  cap.over_limit = std::optional<OverLimit>(OverLimit::cap);
  s.store.update_user("alice", cap);
  CHECK(s.store.find_user("alice")->over_limit == OverLimit::cap);
  UserUpdate remove;
  remove.over_limit = std::optional<OverLimit>(OverLimit::remove);
  s.store.update_user("alice", remove);
  CHECK(s.store.list_users()[0].over_limit == OverLimit::remove);
  UserUpdate back;
  back.over_limit = std::optional<OverLimit>();
  s.store.update_user("alice", back);
  CHECK_FALSE(s.store.find_user("alice")->over_limit);
  std::vector<AuditEvent> changes = events(s.store);
  REQUIRE(changes.size() == 4);
  CHECK(changes[1].detail == "over_limit=cap");
  CHECK(changes[2].detail == "over_limit=delete");
  CHECK(changes[3].detail == "over_limit=default");

  ResourceKey burst{"v2", "queue/alice/burst"};
  std::unique_ptr<Store> guardian = s.under_test->connect(kGuardian);
  guardian->put_queue_notice(QueueNotice{burst, "alice", QueueNoticeState::capped, 9100, ""},
                             {mail("alice@example.org", "capped")});
  std::vector<QueueNotice> notices = s.under_test->connect(kGuardian)->queue_notices();
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].state == QueueNoticeState::capped);
  CHECK(notices[0].messages == 9100);
}

TEST_CASE_TEMPLATE(
    "store contract: a deleted queue is recorded with its mail and forgotten once, with its own",
    Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  ResourceKey big{"/", "queue/alice/big"};
  std::unique_ptr<Store> guardian = s.under_test->connect(kGuardian);
  guardian->put_queue_notice(QueueNotice{big, "alice", QueueNoticeState::deleting, 9000, ""}, {});
  guardian->update_idle_queues({IdleQueue{big, "alice", "2024-01-01T00:00:00.000000Z", ""}}, {});
  guardian->record_queue_deleted(DeletedQueue{big, "alice", "", 9000, 8000},
                                 {mail("alice@example.org", "deleted")});
  CHECK(guardian->queue_notices().empty());
  CHECK(guardian->idle_queues().empty());  // a queue declared again is a new one
  std::vector<DeletedQueue> deleted = s.under_test->connect(kGuardian)->deleted_queues();
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0].queue == big);
  CHECK(deleted[0].owner == "alice");
  CHECK(looks_like_timestamp(deleted[0].deleted_at));
  CHECK(deleted[0].messages == 9000);
  CHECK(deleted[0].threshold == 8000);
  CHECK(guardian->outbox(10).size() == 1);

  // Deleted again later: one record, the last deletion's.
  guardian->record_queue_deleted(
      DeletedQueue{big, "alice", "2030-01-01T00:00:00.000000Z", 8500, 8000}, {});
  deleted = guardian->deleted_queues();
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0].deleted_at == "2030-01-01T00:00:00.000000Z");
  CHECK(deleted[0].messages == 8500);

  // Two guardians see it back: one tells, the other finds it done.
  std::unique_ptr<Store> other = s.under_test->connect(kGuardian);
  CHECK(guardian->forget_deleted_queue(big, {mail("alice@example.org", "back")}));
  CHECK_FALSE(other->forget_deleted_queue(big, {mail("alice@example.org", "back again")}));
  std::vector<OutboxMail> outbox = guardian->outbox(10);
  REQUIRE(outbox.size() == 2);
  CHECK(outbox[1].subject == "back");
  CHECK(guardian->deleted_queues().empty());
  CHECK(events(s.store).empty());
}

TEST_CASE_TEMPLATE(
    "store contract: idle queues keep their first time, leave when busy, and are told of once",
    Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  ResourceKey a{"/", "queue/alice/a"};
  ResourceKey b{"/", "queue/alice/b"};
  std::unique_ptr<Store> guardian = s.under_test->connect(kGuardian);
  guardian->update_idle_queues(
      {IdleQueue{a, "alice", "2024-01-01T00:00:00.000000Z", ""}, IdleQueue{b, "alice", "", ""}},
      {});
  // Seen idle again: the first time stays.
  guardian->update_idle_queues({IdleQueue{a, "alice", "2025-01-01T00:00:00.000000Z", ""}}, {});
  std::vector<IdleQueue> idle = s.under_test->connect(kGuardian)->idle_queues();
  REQUIRE(idle.size() == 2);
  CHECK(idle[0].queue == a);
  CHECK(idle[0].idle_since == "2024-01-01T00:00:00.000000Z");
  CHECK(idle[0].orphan_mailed_at.empty());
  CHECK(looks_like_timestamp(idle[1].idle_since));  // empty: now

  std::unique_ptr<Store> other = s.under_test->connect(kGuardian);
  CHECK(guardian->record_orphan_notice(a, "2024-01-02T00:00:00.000000Z",
                                       {mail("alice@example.org", "orphan")}));
  CHECK_FALSE(other->record_orphan_notice(a, "2024-01-02T00:00:01.000000Z",
                                          {mail("alice@example.org", "orphan again")}));
  CHECK(guardian->idle_queues()[0].orphan_mailed_at == "2024-01-02T00:00:00.000000Z");
  REQUIRE(guardian->outbox(10).size() == 1);
  // A queue no longer idle is not told of.
  guardian->update_idle_queues({}, {a});
  CHECK_FALSE(guardian->record_orphan_notice(a, "2024-01-03T00:00:00.000000Z",
                                             {mail("alice@example.org", "gone")}));
  idle = guardian->idle_queues();
  REQUIRE(idle.size() == 1);
  CHECK(idle[0].queue == b);
  CHECK(guardian->outbox(10).size() == 1);
  guardian->update_idle_queues({}, {});  // nothing: no transaction
  CHECK(events(s.store).empty());
}

TEST_CASE_TEMPLATE("store contract: exchange notices are kept until removed, with their mail", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  ResourceKey fan{"/", "exchange/bob/fan"};
  ResourceKey direct{"/", "exchange/bob/direct"};
  s.store.put_exchange_notice(ExchangeNotice{fan, "bob", "its type is fanout, not topic", ""},
                              {mail("bob@example.org", "report")});
  s.store.put_exchange_notice(
      ExchangeNotice{direct, "bob", "its type is direct, not topic", "2024-05-06T07:08:09.000000Z"},
      {});
  std::vector<ExchangeNotice> notices = s.under_test->connect(kGuardian)->exchange_notices();
  REQUIRE(notices.size() == 2);
  CHECK(notices[0].exchange == direct);
  CHECK(notices[0].since == "2024-05-06T07:08:09.000000Z");
  CHECK(notices[1].exchange == fan);
  CHECK(notices[1].owner == "bob");
  CHECK(notices[1].problem == "its type is fanout, not topic");
  CHECK(looks_like_timestamp(notices[1].since));
  s.store.put_exchange_notice(ExchangeNotice{fan, "bob", "now something else", ""}, {});
  CHECK(s.store.exchange_notices().size() == 2);
  CHECK(s.store.exchange_notices()[1].problem == "now something else");
  s.store.remove_exchange_notice(fan, {mail("bob@example.org", "fixed")});
  s.store.remove_exchange_notice(direct, {});
  CHECK(s.store.exchange_notices().empty());
  std::vector<OutboxMail> outbox = s.store.outbox(100);
  REQUIRE(outbox.size() == 2);
  CHECK(outbox[0].subject == "report");
  CHECK(outbox[1].subject == "fixed");
}

TEST_CASE_TEMPLATE(
    "store contract: the outbox gives the oldest mail first, at most limit, and counts attempts",
    Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  for (int i = 1; i <= 4; ++i) {
    s.store.put_queue_notice(
        QueueNotice{
            {"/", "queue/alice/q" + std::to_string(i)}, "alice", QueueNoticeState::warned, i, ""},
        {mail("alice@example.org", "mail " + std::to_string(i))});
  }
  std::vector<OutboxMail> two = s.store.outbox(2);
  REQUIRE(two.size() == 2);
  CHECK(two[0].subject == "mail 1");
  CHECK(two[1].subject == "mail 2");
  CHECK(two[0].id < two[1].id);
  s.store.outbox_failed(two[0].id, "connection refused");
  s.store.outbox_failed(two[0].id, "connection refused again");
  std::unique_ptr<Store> guardian = s.under_test->connect(kGuardian);
  std::vector<OutboxMail> all = guardian->outbox(100);
  REQUIRE(all.size() == 4);
  CHECK(all[0].attempts == 2);
  CHECK(all[1].attempts == 0);
  guardian->remove_from_outbox(all[1].id);
  all = s.store.outbox(100);
  REQUIRE(all.size() == 3);
  CHECK(all[0].subject == "mail 1");  // a failed mail keeps its place
  CHECK(all[1].subject == "mail 3");
  CHECK(all[2].subject == "mail 4");
  for (const OutboxMail& m : all) guardian->remove_from_outbox(m.id);
  CHECK(s.store.outbox(100).empty());
  // Sent mail is gone for good: a new one comes after, never in its place.
  s.store.remove_queue_notice({"/", "queue/alice/q1"}, {mail("alice@example.org", "mail 5")});
  REQUIRE(s.store.outbox(100).size() == 1);
  CHECK(s.store.outbox(100)[0].id > all[2].id);
}

TEST_CASE_TEMPLATE(
    "store contract: a notice to several owners is one mail each, sent and failed on its own", Impl,
    AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  ResourceKey jobs{"/", "queue/alice/jobs"};
  s.store.put_queue_notice(
      QueueNotice{jobs, "alice", QueueNoticeState::warned, 2500, ""},
      {mail("alice@example.org", "warned"), mail("ops@example.org", "warned"), mail("", "warned")});
  std::vector<OutboxMail> outbox = s.store.outbox(100);
  REQUIRE(outbox.size() == 2);  // no row for the empty recipient
  CHECK(outbox[0].recipient == "alice@example.org");
  CHECK(outbox[1].recipient == "ops@example.org");
  CHECK(outbox[0].id != outbox[1].id);
  s.store.outbox_failed(outbox[1].id, "550 no such mailbox");
  s.store.remove_from_outbox(outbox[0].id);
  outbox = s.store.outbox(100);
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].recipient == "ops@example.org");
  CHECK(outbox[0].attempts == 1);
}

// ---- errors ----

TEST_CASE_TEMPLATE(
    "store contract: when the storage fails, every method throws StoreError, in one line", Impl,
    AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  std::string token = add(s.store, new_user("alice", "alice@example.org"));
  s.store.put_queue_notice(
      QueueNotice{{"/", "queue/alice/q"}, "alice", QueueNoticeState::warned, 5, ""},
      {mail("alice@example.org", "warned")});
  std::int64_t outbox_id = s.store.outbox(1).at(0).id;
  s.store.set_queue_exempt({"/", "queue/alice/x"}, "alice", true);
  std::unique_ptr<Store> server = s.under_test->connect(kServe);
  CHECK(server->list_users().size() == 1);  // a connection that has read before
  std::int64_t last = 0;

  s.under_test->damage();

  UserUpdate change;
  change.expires_at = "2099-01-01T00:00:00.000000Z";
  ResourceKey queue{"/", "queue/alice/q"};
  ResourceKey exchange{"/", "exchange/alice/x"};
  const std::vector<std::pair<const char*, std::function<void(Store&)>>> calls = {
      {"add_user", [](Store& c) { add(c, new_user("bob")); }},
      {"add_users",
       [](Store& c) {
         add_all(c, {new_user("bob"), new_user("cat")}, "import");
       }},
      {"rotate_token", [](Store& c) { rotate(c, "alice"); }},
      {"set_active", [](Store& c) { c.set_active("alice", false); }},
      {"delete_user", [](Store& c) { c.delete_user("alice"); }},
      {"update_user", [&](Store& c) { c.update_user("alice", change); }},
      {"find_user", [](Store& c) { c.find_user("alice"); }},
      {"list_users", [](Store& c) { c.list_users(); }},
      {"deleted_user_names", [](Store& c) { c.deleted_user_names(); }},
      {"was_deleted", [](Store& c) { c.was_deleted("alice"); }},
      {"accounts_created_by", [](Store& c) { c.accounts_created_by("alice@example.org"); }},
      {"end_web_access", [](Store& c) { c.end_web_access("alice@example.org"); }},
      {"data_version", [](Store& c) { c.data_version(); }},
      {"load_users", [&](Store& c) { c.load_users(&last); }},
      {"changed_users_since", [&](Store& c) { c.changed_users_since(0, 10, last); }},
      {"queue_exemptions", [](Store& c) { c.queue_exemptions(); }},
      {"set_queue_exempt", [&](Store& c) { c.set_queue_exempt(queue, "alice", true); }},
      {"queue_notices", [](Store& c) { c.queue_notices(); }},
      {"put_queue_notice",
       [&](Store& c) {
         c.put_queue_notice(QueueNotice{queue, "alice", QueueNoticeState::deleting, 9, ""},
                            {mail("alice@example.org", "x")});
       }},
      {"remove_queue_notice", [&](Store& c) { c.remove_queue_notice(queue, {}); }},
      {"exchange_notices", [](Store& c) { c.exchange_notices(); }},
      {"put_exchange_notice",
       [&](Store& c) {
         c.put_exchange_notice(ExchangeNotice{exchange, "alice", "fanout", ""}, {});
       }},
      {"remove_exchange_notice", [&](Store& c) { c.remove_exchange_notice(exchange, {}); }},
      {"outbox", [](Store& c) { c.outbox(10); }},
      {"remove_from_outbox", [&](Store& c) { c.remove_from_outbox(outbox_id); }},
      {"outbox_failed", [&](Store& c) { c.outbox_failed(outbox_id, "refused"); }},
      {"unexported_audit_events", [](Store& c) { c.unexported_audit_events(0); }},
      {"mark_audit_events_exported", [](Store& c) { c.mark_audit_events_exported(1); }},
      {"schema_version", [](Store& c) { c.schema_version(); }},
      {"reopen", [](Store& c) { c.reopen(); }},
      // Until a reopen succeeds, every call says so.
      {"list_users after a failed reopen", [](Store& c) { c.list_users(); }},
  };
  for (Store* connection : {&s.store, server.get()}) {
    for (const auto& [name, call] : calls) {
      std::string method = name;
      CAPTURE(method);
      std::string message = store_error([&] { call(*connection); });
      CHECK(is_one_line(message));
      CHECK(message.find(token) == std::string::npos);
    }
  }
}

// ---- accounts: owners, rotation with a grace, imported passwords, expiry ----

namespace {

Decision login_now(Store& store, const std::string& name, const std::string& secret,
                   std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
  std::shared_ptr<const Snapshot> snapshot = testing::pulse_snapshot(store.load_users(nullptr));
  AuthRequest request;
  request.endpoint = Endpoint::user;
  request.username = name;
  request.password = secret;
  return decide(request, *snapshot, now);
}

// RabbitMQ's stored form of "correct horse" with salt "salt": the SHA-256
// recipe, made with the token hash (SHA-256 of its input).
Credential rabbit_password() {
  Credential c = token_credential("saltcorrect horse");
  c.hash.insert(c.hash.begin(), {'s', 'a', 'l', 't'});
  c.scheme = CredentialScheme::rabbit_sha256;
  return c;
}

}  // namespace

TEST_CASE_TEMPLATE(
    "store contract: owners are added, compared case-insensitively, never all removed", Impl,
    AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store,
      NewUser{
          "alice", {"Alice@Example.org", "alice@example.ORG", "team@example.org"}, {}, {"/"}, ""});
  add(s.store, new_user("bob", "team@example.org"));
  CHECK(s.store.find_user("alice")->owners ==
        std::vector<std::string>{"Alice@Example.org", "team@example.org"});
  CHECK(events(s.store).front().detail ==
        "owners='Alice@Example.org team@example.org' tags='' vhosts='/' expires=never");

  std::size_t before = events(s.store).size();
  s.store.add_owner("alice", "ALICE@example.org");  // has it: no change, no event
  CHECK(events(s.store).size() == before);
  s.store.add_owner("alice", "ops@example.org");
  CHECK(events(s.store).back().action == "user owner add");
  CHECK(events(s.store).back().detail == "owner='ops@example.org'");

  auto names = [](const std::vector<UserInfo>& users) {
    std::vector<std::string> out;
    for (const UserInfo& u : users) out.push_back(u.name);
    return out;
  };
  CHECK(names(s.store.users_owned_by("TEAM@example.org")) ==
        std::vector<std::string>{"alice", "bob"});
  CHECK(names(s.store.users_owned_by("ops@example.org")) == std::vector<std::string>{"alice"});
  CHECK(s.store.users_owned_by("nobody@example.org").empty());

  s.store.remove_owner("alice", "alice@EXAMPLE.org");
  CHECK(events(s.store).back().detail == "owner='Alice@Example.org'");
  s.store.remove_owner("alice", "team@example.org");
  CHECK(s.store.find_user("alice")->owners == std::vector<std::string>{"ops@example.org"});
  before = events(s.store).size();
  CHECK(store_error([&] { s.store.remove_owner("alice", "ops@example.org"); }) ==
        "'ops@example.org' is the last owner of 'alice': add another owner first, or delete the "
        "account");
  CHECK(store_error([&] { s.store.remove_owner("alice", "team@example.org"); }) ==
        "'team@example.org' is not an owner of 'alice'");
  for (const std::string& bad :
       std::vector<std::string>{"no-at-sign", "@example.org", "alice@", "a@b@c", "a b@x", "a\n@x",
                                "\"a\"@x", "<a@x>", "a@x,b@y", std::string(255, 'a') + "@x"}) {
    CAPTURE(bad);
    std::string message = store_error([&] { s.store.add_owner("alice", bad); });
    CHECK(message.rfind("invalid owner address '", 0) == 0);
    CHECK(is_one_line(message));
  }
  CHECK(store_error([&] {
          add(s.store, NewUser{"carol", {}, {}, {"/"}, ""});
        }) == "an account needs at least one owner (--owner ADDRESS)");
  CHECK(events(s.store).size() == before);
}

TEST_CASE_TEMPLATE("store contract: add_owners adds every owner, or none if one line is wrong",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice"));
  add(s.store, new_user("bob"));
  std::size_t before = events(s.store).size();
  CHECK(store_error([&] {
          s.store.add_owners({{"alice", "x@example.org"}, {"ghost", "y@example.org"}});
        }) == "no such user 'ghost'");
  CHECK(store_error([&] {
          s.store.add_owners({{"alice", "x@example.org"}, {"bob", "not an address"}});
        }).rfind("invalid owner address 'not an address'", 0) == 0);
  CHECK(s.store.find_user("alice")->owners.size() == 1);
  CHECK(events(s.store).size() == before);
  s.store.add_owners({{"alice", "x@example.org"}, {"bob", "BOB@example.org"}, {"bob", "y@x.org"}});
  CHECK(s.store.find_user("alice")->owners ==
        std::vector<std::string>{"alice@example.org", "x@example.org"});
  CHECK(s.store.find_user("bob")->owners ==
        std::vector<std::string>{"bob@example.org", "y@x.org"});  // BOB@ was bob@: kept once
  std::vector<AuditEvent> after = events(s.store);
  REQUIRE(after.size() == before + 2);
  CHECK(after.back().action == "import owners");
}

TEST_CASE_TEMPLATE(
    "store contract: a rotation's grace keeps the previous credential, and a second ends the first",
    Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  std::string first = add(s.store, new_user("alice"));
  auto t0 = std::chrono::system_clock::now();
  std::string second = s.store.rotate_token("alice", std::chrono::minutes(30));
  testing::record_issued_token(second);
  UserInfo info = *s.store.find_user("alice");
  std::optional<std::int64_t> until = rfc3339_to_unix_ms(info.previous_valid_until);
  REQUIRE(until);
  auto until_point = std::chrono::system_clock::time_point(std::chrono::milliseconds(*until));
  CHECK(until_point >= t0 + std::chrono::minutes(30) - std::chrono::milliseconds(1));
  CHECK(until_point <= std::chrono::system_clock::now() + std::chrono::minutes(30));
  CHECK(info.previous_issued_at == info.created_at);
  CHECK(info.credential_issued_at > info.created_at);
  CHECK(events(s.store).back().detail ==
        "new token issued; the previous credential logs in until " + info.previous_valid_until +
            " (grace 30m)");

  Decision old = login_now(s.store, "alice", first);
  CHECK(old.allow);
  CHECK(old.credential == "previous");
  CHECK(login_now(s.store, "alice", second).credential == "current");
  CHECK_FALSE(login_now(s.store, "alice", first, until_point).allow);

  // A second rotation in the grace: the first token stops at once, the
  // second is now the previous one.
  std::string third = s.store.rotate_token("alice", std::chrono::hours(1));
  testing::record_issued_token(third);
  CHECK_FALSE(login_now(s.store, "alice", first).allow);
  CHECK(login_now(s.store, "alice", second).credential == "previous");
  CHECK(login_now(s.store, "alice", third).credential == "current");
  CHECK(events(s.store).back().detail.find("the grace of the credential before it ended now") !=
        std::string::npos);
  CHECK(s.store.find_user("alice")->previous_issued_at == info.credential_issued_at);

  // No grace: only the newest logs in.
  std::string fourth = rotate(s.store, "alice");
  for (const std::string& old_token : {first, second, third}) {
    CHECK_FALSE(login_now(s.store, "alice", old_token).allow);
  }
  CHECK(login_now(s.store, "alice", fourth).allow);
  CHECK(s.store.find_user("alice")->previous_valid_until.empty());

  // The grace's bounds: up to 7 days, inclusive; never negative.
  testing::record_issued_token(s.store.rotate_token("alice", std::chrono::days(7)));
  std::size_t before = events(s.store).size();
  CHECK(store_error([&] {
          s.store.rotate_token("alice", std::chrono::days(7) + std::chrono::seconds(1));
        }) == "a grace is 0 to 7d; got 604801s");
  CHECK(store_error([&] { s.store.rotate_token("alice", std::chrono::seconds(-1)); }) ==
        "a grace is 0 to 7d; got a negative one");
  CHECK(events(s.store).size() == before);
  check_no_token_stored(*s.under_test, {first, second, third, fourth});
}

TEST_CASE_TEMPLATE(
    "store contract: an imported password logs in, has no owner, and a rotation replaces it", Impl,
    AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("taken"));
  ImportedUser carol{"carol", {"monitoring"}, {"/", "v2"}, rabbit_password()};
  std::size_t before = events(s.store).size();
  // All or nothing: a taken name, a token where a hash belongs, a short hash.
  Credential short_hash = rabbit_password();
  short_hash.hash.pop_back();
  for (const std::vector<ImportedUser>& bad : std::vector<std::vector<ImportedUser>>{
           {carol, ImportedUser{"taken", {}, {"/"}, rabbit_password()}},
           {carol, ImportedUser{"dan", {}, {"/"}, token_credential("x")}},
           {carol, ImportedUser{"dan", {}, {"/"}, short_hash}},
           {carol, carol}}) {
    CHECK_FALSE(store_error([&] { s.store.import_users(bad); }).empty());
    CHECK_FALSE(s.store.find_user("carol"));
  }
  CHECK(events(s.store).size() == before);

  s.store.import_users({carol});
  UserInfo info = *s.store.find_user("carol");
  CHECK(info.credential == CredentialScheme::rabbit_sha256);
  CHECK(info.credential_issued_at.empty());
  CHECK(info.owners.empty());
  CHECK(info.tags == std::vector<std::string>{"monitoring"});
  CHECK(info.vhosts == std::vector<std::string>{"/", "v2"});
  CHECK(events(s.store).back().action == "import definitions");
  CHECK(events(s.store).back().detail ==
        "credential=rabbit_password_hashing_sha256 tags='monitoring' vhosts='/ v2' owners=none");
  Decision d = login_now(s.store, "carol", "correct horse");
  CHECK(d.allow);
  CHECK(d.reason == "imported password accepted");
  CHECK_FALSE(login_now(s.store, "carol", "correct horse ").allow);

  // Rotating with a grace: the password still logs in until it ends, and
  // the account has a token from now on.
  std::string token = s.store.rotate_token("carol", std::chrono::hours(1));
  testing::record_issued_token(token);
  info = *s.store.find_user("carol");
  CHECK(info.credential == CredentialScheme::token);
  CHECK(info.previous_issued_at.empty());
  CHECK(login_now(s.store, "carol", "correct horse").credential == "previous");
  CHECK(login_now(s.store, "carol", token).credential == "current");
  testing::record_issued_token(s.store.rotate_token("carol"));
  CHECK_FALSE(login_now(s.store, "carol", "correct horse").allow);
}

TEST_CASE_TEMPLATE("store contract: an expiry is set, renewed and cleared, never in the past", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  const std::string later = "2099-01-01T00:00:00.000000Z";
  const std::string even_later = "2099-06-01T00:00:00.000000Z";
  std::string token = add(s.store, NewUser{"alice", {"a@example.org"}, {}, {"/"}, later});
  CHECK(s.store.find_user("alice")->expires_at == later);
  std::vector<UserRecord> records = to_records(s.store.load_users(nullptr));
  const UserRecord* record = record_of(records, "alice");
  REQUIRE(record);
  REQUIRE(record->expires_at);
  CHECK(rfc3339_utc(*record->expires_at) == later);
  CHECK(login_now(s.store, "alice", token).allow);
  CHECK(login_now(s.store, "alice", token, *record->expires_at).rule == "expired-user");

  std::size_t before = events(s.store).size();
  CHECK(store_error([&] {
          add(s.store, NewUser{"bob", {"b@example.org"}, {}, {"/"}, "2001-01-01T00:00:00.000000Z"});
        }) == "the expiry 2001-01-01T00:00:00.000000Z is not in the future");
  UserUpdate past;
  past.expires_at = rfc3339_utc(std::chrono::system_clock::now() - std::chrono::seconds(1));
  CHECK(store_error([&] { s.store.update_user("alice", past); }).find("is not in the future") !=
        std::string::npos);
  UserUpdate garbage;
  garbage.expires_at = "soon";
  CHECK(store_error([&] { s.store.update_user("alice", garbage); }) ==
        "invalid expiry 'soon': not an RFC 3339 UTC time");
  CHECK(events(s.store).size() == before);

  // A notice goes once for an expiry; a shorter lead may follow, a longer
  // or equal one not; a new expiry starts over.
  std::vector<OutboxMail> mails{mail("a@example.org", "expires"), mail("b@example.org", "expires")};
  CHECK(s.store.record_expiry_notice("alice", later, 604800, mails));
  CHECK(s.store.outbox(10).size() == 2);
  CHECK(events(s.store).back().action != "expiry notice");  // the guardian's line says it
  CHECK_FALSE(s.store.record_expiry_notice("alice", later, 604800, mails));
  CHECK_FALSE(s.store.record_expiry_notice("alice", later, 700000, mails));
  CHECK_FALSE(s.store.record_expiry_notice("alice", even_later, 86400, mails));  // not its expiry
  CHECK_FALSE(s.store.record_expiry_notice("ghost", later, 86400, mails));
  CHECK(s.store.outbox(10).size() == 2);
  CHECK(s.store.find_user("alice")->expiry_notice_lead == 604800);
  UserUpdate same;
  same.expires_at = later;
  s.store.update_user("alice", same);
  CHECK(s.store.find_user("alice")->expiry_notice_lead == 604800);  // the same expiry: kept
  CHECK(s.store.record_expiry_notice("alice", later, 86400, {mails[0]}));
  CHECK(s.store.outbox(10).size() == 3);

  UserUpdate renew;
  renew.expires_at = even_later;
  s.store.update_user("alice", renew);
  CHECK_FALSE(s.store.find_user("alice")->expiry_notice_lead);
  CHECK(s.store.record_expiry_notice("alice", even_later, 604800, mails));

  UserUpdate never;
  never.expires_at = "";
  s.store.update_user("alice", never);
  CHECK(s.store.find_user("alice")->expires_at.empty());
  CHECK_FALSE(record_of(to_records(s.store.load_users(nullptr)), "alice")->expires_at);
  CHECK(events(s.store).back().detail == "expires=never");
  CHECK_FALSE(s.store.record_expiry_notice("alice", "", 86400, mails));
}

// ---- the web: sign-ins, sessions, API keys ----

namespace {

TokenHash hash_of(const std::string& secret) { return hash_token(secret); }

const std::string kLongAgo = "2020-01-01T00:00:00.000000Z";
const std::string kFarAhead = "2999-01-01T00:00:00.000000Z";

}  // namespace

TEST_CASE_TEMPLATE("store contract: a sign-in is found by its state once, however many ask", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  const std::string created = rfc3339_utc(std::chrono::system_clock::now());
  s.store.put_sign_in(WebSignIn{hash_of("state-1"), hash_of("browser-1"), "/accounts", created});
  s.store.put_sign_in(WebSignIn{hash_of("state-2"), hash_of("browser-2"), "/", created});

  CHECK_FALSE(s.store.take_sign_in(hash_of("state-3")));
  std::optional<WebSignIn> taken = s.store.take_sign_in(hash_of("state-1"));
  REQUIRE(taken);
  CHECK(taken->state_hash == hash_of("state-1"));
  CHECK(taken->browser_hash == hash_of("browser-1"));
  CHECK(taken->next == "/accounts");
  CHECK(taken->created_at == created);
  CHECK_FALSE(s.store.take_sign_in(hash_of("state-1")));  // replayed
  CHECK(s.store.take_sign_in(hash_of("state-2")));
  CHECK(events(s.store).empty());  // the web's own log audits sign-ins

  // Callbacks that race for one state: exactly one of them finishes it.
  s.store.put_sign_in(WebSignIn{hash_of("raced"), hash_of("b"), "/", created});
  std::atomic<int> finished{0};
  std::vector<std::thread> callbacks;
  for (int i = 0; i < 4; ++i) {
    callbacks.emplace_back([&] {
      std::unique_ptr<Store> connection = s.under_test->connect(kServe);
      if (connection->take_sign_in(hash_of("raced"))) ++finished;
    });
  }
  for (std::thread& t : callbacks) t.join();
  CHECK(finished == 1);
}

TEST_CASE_TEMPLATE("store contract: sessions are found, touched, ended, and purged when old", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  const std::string now = rfc3339_utc(std::chrono::system_clock::now());
  s.store.put_session(WebSession{hash_of("fresh"), "Alice@Example.org", now, now});
  s.store.put_session(WebSession{hash_of("idle"), "bob@example.org", now, kLongAgo});
  s.store.put_session(WebSession{hash_of("ancient"), "carol@example.org", kLongAgo, now});
  CHECK(s.under_test->stored_bytes().find("fresh") == std::string::npos);

  std::optional<WebSession> found = s.store.find_session(hash_of("fresh"));
  REQUIRE(found);
  CHECK(found->address == "Alice@Example.org");
  CHECK(found->created_at == now);
  CHECK_FALSE(s.store.find_session(hash_of("nobody")));

  const std::string later = rfc3339_utc(std::chrono::system_clock::now() + std::chrono::minutes(5));
  s.store.touch_session(hash_of("fresh"), later);
  CHECK(s.store.find_session(hash_of("fresh"))->last_seen_at == later);
  CHECK(s.store.find_session(hash_of("fresh"))->created_at == now);

  // Idle since before the cutoff, or created before the other: gone.
  const std::string cutoff = "2021-01-01T00:00:00.000000Z";
  s.store.put_sign_in(WebSignIn{hash_of("old sign-in"), hash_of("b"), "/", kLongAgo});
  s.store.put_sign_in(WebSignIn{hash_of("new sign-in"), hash_of("b"), "/", now});
  CHECK(s.store.purge_web_state(cutoff, cutoff, cutoff) == 3);
  CHECK(s.store.find_session(hash_of("fresh")));
  CHECK_FALSE(s.store.find_session(hash_of("idle")));
  CHECK_FALSE(s.store.find_session(hash_of("ancient")));
  CHECK_FALSE(s.store.take_sign_in(hash_of("old sign-in")));
  CHECK(s.store.take_sign_in(hash_of("new sign-in")));

  s.store.end_session(hash_of("fresh"));
  CHECK_FALSE(s.store.find_session(hash_of("fresh")));
  s.store.end_session(hash_of("fresh"));  // signing out twice is no error
  CHECK(s.store.purge_web_state(kFarAhead, kLongAgo, kLongAgo) == 0);
}

TEST_CASE_TEMPLATE("store contract: an API key is shown once, kept as a hash, revoked by its owner",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  s.store.set_actor(Actor{"web", "alice@example.org"});
  NewApiKey first = s.store.add_api_key("alice@example.org", "nightly sync", "");
  NewApiKey second = s.store.add_api_key("alice@example.org", "", kFarAhead);
  NewApiKey bobs = s.store.add_api_key("bob@example.org", "bob's", "");
  testing::record_issued_tokens({first.key, second.key, bobs.key});
  CHECK(first.key.rfind("ak_", 0) == 0);
  CHECK(first.key.size() == 3 + 43);
  CHECK(first.key != second.key);
  check_no_token_stored(*s.under_test, {first.key, second.key, bobs.key});
  CHECK(first.info.address == "alice@example.org");
  CHECK(first.info.label == "nightly sync");
  CHECK(first.info.expires_at.empty());
  CHECK(second.info.expires_at == kFarAhead);
  CHECK(looks_like_timestamp(first.info.created_at));

  std::optional<ApiKeyInfo> found = s.store.find_api_key(hash_token(first.key));
  REQUIRE(found);
  CHECK(found->id == first.info.id);
  CHECK(found->address == "alice@example.org");
  CHECK_FALSE(s.store.find_api_key(hash_token(first.key + "x")));

  // Newest first; the address compared without case.
  std::vector<ApiKeyInfo> keys = s.store.api_keys_of("ALICE@example.org");
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].id == second.info.id);
  CHECK(keys[1].id == first.info.id);

  // Someone else's key, or one revoked already, looks like no key at all.
  CHECK_FALSE(s.store.revoke_api_key(first.info.id, "bob@example.org"));
  CHECK(s.store.find_api_key(hash_token(first.key))->revoked_at.empty());
  CHECK(s.store.revoke_api_key(first.info.id, "alice@example.org"));
  CHECK(looks_like_timestamp(s.store.find_api_key(hash_token(first.key))->revoked_at));
  CHECK_FALSE(s.store.revoke_api_key(first.info.id, "alice@example.org"));
  CHECK_FALSE(s.store.revoke_api_key(999999, "alice@example.org"));

  const std::string used = rfc3339_utc(std::chrono::system_clock::now());
  s.store.touch_api_key(second.info.id, used);
  CHECK(s.store.find_api_key(hash_token(second.key))->last_used_at == used);

  // Creation and revocation are audited as the actor's; the secret nowhere.
  std::vector<AuditEvent> log = events(s.store);
  REQUIRE(log.size() == 4);
  CHECK(log[0].action == "apikey create");
  CHECK(log[0].actor == "web");
  CHECK(log[0].operator_name == "alice@example.org");
  CHECK(log[0].user.empty());
  CHECK(log[0].detail == "key " + std::to_string(first.info.id) + " of alice@example.org");
  CHECK(log[1].detail ==
        "key " + std::to_string(second.info.id) + " of alice@example.org, expires " + kFarAhead);
  CHECK(log[3].action == "apikey revoke");
  for (const AuditEvent& e : log) CHECK(e.detail.find("ak_") == std::string::npos);

  // Checked before anything is written.
  CHECK(store_error([&] {
          s.store.add_api_key("not an address", "", "");
        }).rfind("invalid owner address", 0) == 0);
  CHECK(store_error([&] { s.store.add_api_key("a@example.org", "two\nlines", ""); }) ==
        "invalid label 'two\\x0alines': at most 100 bytes of UTF-8, no control characters");
  CHECK(store_error([&] {
          s.store.add_api_key("a@example.org", std::string(101, 'x'), "");
        }).rfind("invalid label", 0) == 0);
  CHECK(store_error([&] {
          s.store.add_api_key("a@example.org", "", kLongAgo);
        }).rfind("the expiry 2020-01-01", 0) == 0);
  CHECK(events(s.store).size() == 4);
}

TEST_CASE_TEMPLATE("store contract: ending a person's web access ends their sessions and keys only",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  const std::string at = rfc3339_utc(std::chrono::system_clock::now());
  WebSession alices{hash_token("session-of-alice"), "alice@example.org", at, at};
  WebSession bobs{hash_token("session-of-bob"), "bob@example.org", at, at};
  s.store.put_session(alices);
  s.store.put_session(WebSession{hash_token("alice-laptop"), "Alice@Example.org", at, at});
  s.store.put_session(bobs);
  NewApiKey live = s.store.add_api_key("alice@example.org", "", "");
  NewApiKey revoked = s.store.add_api_key("alice@example.org", "", "");
  NewApiKey bobs_key = s.store.add_api_key("bob@example.org", "", "");
  testing::record_issued_tokens({live.key, revoked.key, bobs_key.key});
  REQUIRE(s.store.revoke_api_key(revoked.info.id, "alice@example.org"));
  const std::string revoked_at = s.store.find_api_key(hash_token(revoked.key))->revoked_at;

  s.store.set_actor(Actor{"cli", "root"});
  WebAccessEnded ended = s.store.end_web_access("ALICE@example.org");
  CHECK(ended.sessions == 2);
  CHECK(ended.api_keys == 1);
  CHECK_FALSE(s.store.find_session(alices.id_hash));
  CHECK_FALSE(s.store.find_session(hash_token("alice-laptop")));
  CHECK(looks_like_timestamp(s.store.find_api_key(hash_token(live.key))->revoked_at));
  // A key revoked before keeps when it was.
  CHECK(s.store.find_api_key(hash_token(revoked.key))->revoked_at == revoked_at);
  // Bob keeps his.
  CHECK(s.store.find_session(bobs.id_hash));
  CHECK(s.store.find_api_key(hash_token(bobs_key.key))->revoked_at.empty());

  std::vector<AuditEvent> log = events(s.store);
  REQUIRE_FALSE(log.empty());
  CHECK(log.back().action == "web revoke");
  CHECK(log.back().actor == "cli");
  CHECK(log.back().detail == "ALICE@example.org: 2 sessions ended, 1 API keys revoked");

  // Nothing left to end is not an error, and is audited too.
  ended = s.store.end_web_access("alice@example.org");
  CHECK(ended.sessions == 0);
  CHECK(ended.api_keys == 0);
  CHECK(events(s.store).size() == log.size() + 1);
  CHECK(store_error([&] {
          s.store.end_web_access("not an address");
        }).rfind("invalid owner address", 0) == 0);
}

TEST_CASE_TEMPLATE(
    "store contract: limited to an owner, a connection changes only that owner's accounts", Impl,
    AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  NewUser alices = new_user("alice");
  alices.owners = {"alice@example.org"};
  NewUser bobs = new_user("bob");
  bobs.owners = {"bob@example.org"};
  add(s.store, alices);
  add(s.store, bobs);
  const UserInfo bob_before = *s.store.find_user("bob");
  const std::size_t events_before = events(s.store).size();

  s.store.limit_changes_to_owner("ALICE@example.org");
  UserUpdate update;
  update.expires_at = kFarAhead;
  const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> changes = {
      {"rotate_token", [&](const std::string& n) { rotate(s.store, n); }},
      {"update_user", [&](const std::string& n) { s.store.update_user(n, update); }},
      {"add_owner", [&](const std::string& n) { s.store.add_owner(n, "carol@example.org"); }},
      {"remove_owner", [&](const std::string& n) { s.store.remove_owner(n, "carol@example.org"); }},
      {"delete_user", [&](const std::string& n) { s.store.delete_user(n); }},
  };
  for (const auto& [method, change] : changes) {
    CAPTURE(method);
    CHECK(store_error([&] { change("bob"); }).find("no such user 'bob'") != std::string::npos);
  }
  const UserInfo bob_after = *s.store.find_user("bob");
  CHECK(bob_after.owners == bob_before.owners);
  CHECK(bob_after.credential_issued_at == bob_before.credential_issued_at);
  CHECK(bob_after.expires_at == bob_before.expires_at);
  CHECK(events(s.store).size() == events_before);
  // An operator's or admin's change is not an owner's.
  s.store.set_active("bob", false);
  CHECK_FALSE(s.store.find_user("bob")->active);
  // Alice's own account, her address in any case.
  for (const auto& [method, change] : changes) {
    CAPTURE(method);
    change("alice");
  }
  CHECK_FALSE(s.store.find_user("alice"));
  // Lifted: everything again.
  s.store.limit_changes_to_owner("");
  rotate(s.store, "bob");
  s.store.delete_user("bob");
  CHECK_FALSE(s.store.find_user("bob"));
}

TEST_CASE_TEMPLATE(
    "store contract: a rotation replacing a credential that was replaced changes nothing", Impl,
    AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice"));
  const std::string first = s.store.find_user("alice")->credential_issued_at;
  REQUIRE_FALSE(first.empty());
  std::string second =
      s.store.rotate_token("alice", std::chrono::seconds(600), std::optional<std::string>(first));
  testing::record_issued_token(second);
  const UserInfo after_one = *s.store.find_user("alice");
  const std::size_t events_before = events(s.store).size();
  CHECK(store_error([&] {
          s.store.rotate_token("alice", std::chrono::seconds(0), std::optional<std::string>(first));
        }) == "the credential of 'alice' was replaced already: nothing changed");
  const UserInfo after_two = *s.store.find_user("alice");
  CHECK(after_two.credential_issued_at == after_one.credential_issued_at);
  CHECK(after_two.previous_valid_until == after_one.previous_valid_until);
  CHECK(events(s.store).size() == events_before);
  CHECK(login_now(s.store, "alice", second).allow);
  // An imported password has no issue time: "" names it.
  CHECK(store_error([&] {
          s.store.rotate_token("alice", std::chrono::seconds(0), std::optional<std::string>(""));
        }).find("replaced already") != std::string::npos);
}

TEST_CASE_TEMPLATE("store contract: accounts a person created on the web count while they exist",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("by-cli"));
  s.store.set_actor(Actor{"web", "alice@example.org"});
  NewUser a = new_user("a1");
  a.owners = {"alice@example.org"};
  NewUser b = new_user("a2");
  b.owners = {"alice@example.org"};
  add(s.store, a);
  add(s.store, b);
  s.store.set_actor(Actor{"web", "bob@example.org"});
  NewUser c = new_user("b1");
  c.owners = {"bob@example.org"};
  add(s.store, c);
  CHECK(s.store.accounts_created_by("ALICE@example.org") == 2);
  CHECK(s.store.accounts_created_by("bob@example.org") == 1);
  CHECK(s.store.accounts_created_by("tester") == 0);  // the CLI's are not the web's
  // Given away, still hers; deleted, no longer.
  s.store.add_owner("a1", "bob@example.org");
  s.store.remove_owner("a1", "alice@example.org");
  CHECK(s.store.accounts_created_by("alice@example.org") == 2);
  s.store.delete_user("a1");
  CHECK(s.store.accounts_created_by("alice@example.org") == 1);
  // Made again by someone else, it is theirs.
  add(s.store, NewUser{"a1", {"bob@example.org"}, {}, {"/"}, ""});
  CHECK(s.store.accounts_created_by("alice@example.org") == 1);
  CHECK(s.store.accounts_created_by("bob@example.org") == 2);
}

TEST_CASE_TEMPLATE("store contract: set_actor changes who later changes are audited as", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  add(s.store, new_user("alice"));
  s.store.set_actor(Actor{"web", "bob@example.org"});
  add(s.store, new_user("bob"));
  std::vector<AuditEvent> log = events(s.store);
  REQUIRE(log.size() == 2);
  CHECK(log[0].actor == "cli");
  CHECK(log[0].operator_name == "tester");
  CHECK(log[1].actor == "web");
  CHECK(log[1].operator_name == "bob@example.org");
}

}  // namespace authsvc::store_contract

namespace authsvc::store_contract {
namespace {

ExchangeSample seen_on(const std::string& name, std::int64_t inspected, const std::string& at,
                       MessageExample last) {
  ExchangeSample s;
  s.exchange = ResourceKey{"/", name};
  s.inspected = inspected;
  s.first_seen_at = at;
  s.last_seen_at = at;
  s.last = std::move(last);
  return s;
}

MessageExample example(std::string routing_key, std::string payload) {
  MessageExample e;
  e.routing_key = std::move(routing_key);
  e.size = static_cast<std::int64_t>(payload.size());
  e.payload = std::move(payload);
  return e;
}

}  // namespace

TEST_CASE_TEMPLATE("store contract: message samples add up, keep any bytes, and merge their shapes",
                   Impl, AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  // Bytes no text column takes: NUL, invalid UTF-8, controls.
  const std::string hostile_key = std::string("a.\0.b\x1b", 6);
  const std::string hostile_payload = std::string("\xff\xfe\0{\"", 5);
  ExchangeSample first = seen_on("exchange/alice/a", 3, "2026-01-01T00:00:01.000000Z",
                                 example(hostile_key, hostile_payload));
  first.last.content_type = std::string("text/\0plain", 11);
  first.last.delivery_mode = 1;
  first.json_keys = {"b", std::string("nul\0key", 7)};
  first.routing_key_fields_min = 2;
  first.routing_key_fields_max = 3;
  ExchangeViolationRecord not_utf8;
  not_utf8.kind = MessageViolation::not_utf8;
  not_utf8.count = 2;
  not_utf8.last_at = "2026-01-01T00:00:01.000000Z";
  not_utf8.example = first.last;
  first.violations = {not_utf8};
  ExchangeSample empty = seen_on("exchange/bob/none", 0, "2026-01-01T00:00:01.000000Z", {});
  s.store.add_exchange_samples({first, empty});

  ExchangeSample second =
      seen_on("exchange/alice/a", 2, "2026-01-01T00:00:09.000000Z", example("x", R"({"c":1})"));
  second.json_keys = {"c", "b"};
  second.routing_key_fields_min = 1;
  second.routing_key_fields_max = 1;
  ExchangeViolationRecord more_utf8 = not_utf8;
  more_utf8.count = 1;
  more_utf8.last_at = "2026-01-01T00:00:08.000000Z";
  more_utf8.example = example("y", "\xc3");
  ExchangeViolationRecord transient;
  transient.kind = MessageViolation::transient;
  transient.count = 2;
  transient.last_at = "2026-01-01T00:00:09.000000Z";
  transient.example = second.last;
  second.violations = {more_utf8, transient};
  s.store.add_exchange_samples({second});

  std::unique_ptr<Store> again = s.under_test->connect(kGuardian);
  std::vector<ExchangeSample> all = again->exchange_samples();
  REQUIRE(all.size() == 1);  // one that inspected nothing is not recorded
  const ExchangeSample& a = all[0];
  CHECK(a.exchange == ResourceKey{"/", "exchange/alice/a"});
  CHECK(a.inspected == 5);
  CHECK(a.first_seen_at == "2026-01-01T00:00:01.000000Z");
  CHECK(a.last_seen_at == "2026-01-01T00:00:09.000000Z");
  CHECK(a.last.routing_key == "x");
  CHECK_FALSE(a.last.content_type.has_value());
  CHECK(a.json_keys == std::vector<std::string>{"b", std::string("nul\0key", 7), "c"});
  CHECK(a.routing_key_fields_min == 1);
  CHECK(a.routing_key_fields_max == 3);
  REQUIRE(a.violations.size() == 2);
  CHECK(a.violations[0].kind == MessageViolation::not_utf8);
  CHECK(a.violations[0].count == 3);
  CHECK(a.violations[0].last_at == "2026-01-01T00:00:08.000000Z");
  CHECK(a.violations[0].example.payload == "\xc3");
  CHECK(a.violations[0].mailed_at.empty());
  CHECK(a.violations[1].kind == MessageViolation::transient);

  // The first write's bytes, read back whole.
  Fresh<Impl> t;
  t.store.add_exchange_samples({first});
  std::optional<ExchangeSample> kept = t.store.exchange_sample(first.exchange);
  REQUIRE(kept.has_value());
  CHECK(kept->last.routing_key == hostile_key);
  CHECK(kept->last.payload == hostile_payload);
  CHECK(kept->last.content_type == std::string("text/\0plain", 11));
  CHECK(kept->last.delivery_mode == 1);
  CHECK(kept->violations.size() == 1);
  CHECK_FALSE(t.store.exchange_sample(ResourceKey{"/", "exchange/alice/other"}).has_value());
}

TEST_CASE_TEMPLATE("store contract: a violation is mailed once per period, with its mails", Impl,
                   AUTHSVC_STORE_IMPLEMENTATIONS) {
  Fresh<Impl> s;
  ExchangeSample sample =
      seen_on("exchange/alice/a", 4, "2026-01-01T00:00:01.000000Z", example("k", "nope"));
  ExchangeViolationRecord v;
  v.kind = MessageViolation::not_json;
  v.count = 4;
  v.last_at = "2026-01-01T00:00:01.000000Z";
  v.example = sample.last;
  sample.violations = {v};
  s.store.add_exchange_samples({sample});
  const ResourceKey key = sample.exchange;

  std::vector<ExchangeSample> due = s.store.unmailed_violations();
  REQUIRE(due.size() == 1);
  CHECK(due[0].inspected == 4);
  REQUIRE(due[0].violations.size() == 1);
  CHECK(due[0].violations[0].count == 4);

  CHECK(s.store.record_violation_mail(key, MessageViolation::not_json, 4,
                                      "2026-01-02T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z",
                                      {mail("alice@example.org", "not json")}));
  // Another guardian with the same view, a moment later: refused, no mail.
  CHECK_FALSE(s.store.record_violation_mail(
      key, MessageViolation::not_json, 4, "2026-01-02T00:00:01.000000Z",
      "2026-01-01T00:00:01.000000Z", {mail("alice@example.org", "not json")}));
  // A kind never seen there: nothing to record.
  CHECK_FALSE(s.store.record_violation_mail(key, MessageViolation::oversize, 1,
                                            "2026-01-02T00:00:01.000000Z",
                                            "2026-01-01T00:00:01.000000Z", {}));
  CHECK(s.store.outbox(100).size() == 1);
  CHECK(s.store.unmailed_violations().empty());
  std::optional<ExchangeSample> kept = s.store.exchange_sample(key);
  REQUIRE(kept.has_value());
  CHECK(kept->violations[0].mailed_at == "2026-01-02T00:00:00.000000Z");
  CHECK(kept->violations[0].mailed_count == 4);

  // Seen again: unmailed once more, and mailed again once the period passed.
  v.count = 1;
  sample.inspected = 1;
  sample.violations = {v};
  s.store.add_exchange_samples({sample});
  CHECK(s.store.unmailed_violations().size() == 1);
  CHECK(s.store.record_violation_mail(key, MessageViolation::not_json, 5,
                                      "2026-01-03T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z",
                                      {mail("alice@example.org", "again")}));
  CHECK(s.store.outbox(100).size() == 2);
}

}  // namespace authsvc::store_contract
