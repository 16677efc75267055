#include "authsvc/guardian/guardian_policy.h"

#include <doctest/doctest.h>

#include <set>

#include "authsvc/core/timestamp.h"
#include "authsvc/guardian/guardian_mail.h"

namespace authsvc {
namespace {

using Kind = GuardianAction::Kind;

UserInfo user(const std::string& name) {
  UserInfo u;
  u.name = name;
  u.owners = {name + "@example.org"};
  u.active = true;
  u.created_at = "2026-11-27T10:00:00.000000Z";
  u.credential_issued_at = u.created_at;
  return u;
}

std::chrono::system_clock::time_point at(const std::string& rfc3339) {
  return std::chrono::system_clock::time_point(
      std::chrono::milliseconds(rfc3339_to_unix_ms(rfc3339).value()));
}

ConnectionInfo connection(const std::string& name, const std::string& who,
                          std::optional<std::int64_t> at_ms) {
  ConnectionInfo c;
  c.name = name;
  c.user = who;
  c.vhost = "/";
  c.connected_at_ms = at_ms;
  return c;
}

// "NAME: REASON" for each connection plan_guardian closes, in order; every
// action must be a closure, and send no mail.
std::vector<std::string> closed(const GuardianInput& in) {
  std::vector<std::string> out;
  for (const GuardianAction& a : plan_guardian(in)) {
    CHECK(a.kind == Kind::close_connection);
    CHECK(mails_for(a).empty());
    out.push_back(a.name + ": " + a.reason);
  }
  return out;
}

QueueInfo queue(const std::string& name, std::optional<std::int64_t> messages,
                const std::string& vhost = "/") {
  QueueInfo q;
  q.vhost = vhost;
  q.name = name;
  q.messages = messages;
  q.durable = true;
  return q;
}

GuardianInput with_alice() {
  GuardianInput in;
  in.users = {user("alice"), user("bob")};
  return in;
}

// The one action planned for `in`: a failed REQUIRE unless there is exactly one.
GuardianAction only_action(const GuardianInput& in) {
  std::vector<GuardianAction> actions = plan_guardian(in);
  REQUIRE(actions.size() == 1);
  return actions[0];
}

}  // namespace

TEST_CASE("owner_of takes the user from queue/<user>/... and exchange/<user>/... only") {
  CHECK(owner_of("queue", "queue/alice/jobs") == "alice");
  CHECK(owner_of("queue", "queue/alice/a/b") == "alice");
  CHECK(owner_of("exchange", "exchange/bob.x/v1") == "bob.x");
  CHECK_FALSE(owner_of("queue", "queue/alice/"));
  CHECK_FALSE(owner_of("queue", "queue/alice"));
  CHECK_FALSE(owner_of("queue", "queue//x"));
  CHECK_FALSE(owner_of("queue", "queues/alice/x"));
  CHECK_FALSE(owner_of("queue", "exchange/alice/x"));
  CHECK_FALSE(owner_of("queue", "amq.gen-abc"));
  CHECK_FALSE(owner_of("queue", "queue/9bad/x"));  // not a user name
}

TEST_CASE("classify_queue: one state for each rule, at the thresholds' edges") {
  const QueueLimits limits{10, 20};
  const auto warned = std::optional(QueueNoticeState::warned);
  const auto deleting = std::optional(QueueNoticeState::deleting);
  const std::optional<QueueNoticeState> none;
  auto state = [&](const QueueInfo& q, bool exempt, std::optional<QueueNoticeState> notice) {
    return classify_queue(q, limits, exempt, notice);
  };
  CHECK(state(queue("queue/alice/q", 0), false, none) == QueueState::ok);
  CHECK(state(queue("queue/alice/q", 9), false, none) == QueueState::ok);
  CHECK(state(queue("queue/alice/q", 10), false, none) == QueueState::over_warning);
  CHECK(state(queue("queue/alice/q", 19), false, none) == QueueState::over_warning);
  CHECK(state(queue("queue/alice/q", 10), false, warned) == QueueState::warned);
  CHECK(state(queue("queue/alice/q", 19), false, deleting) == QueueState::warned);
  CHECK(state(queue("queue/alice/q", 20), false, none) == QueueState::over_deletion);
  CHECK(state(queue("queue/alice/q", 20), false, warned) == QueueState::over_deletion);
  CHECK(state(queue("queue/alice/q", 20), false, deleting) == QueueState::over_deletion);
  CHECK(state(queue("queue/alice/q", 9), false, warned) == QueueState::back_under_warning);
  CHECK(state(queue("queue/alice/q", 0), false, deleting) == QueueState::back_under_warning);
  // Unknown is not empty, with or without a notice.
  CHECK(state(queue("queue/alice/q", std::nullopt), false, none) == QueueState::size_unknown);
  CHECK(state(queue("queue/alice/q", std::nullopt), false, warned) == QueueState::size_unknown);
  // Exempt beats every size; a name outside queue/<user>/ beats exemption.
  CHECK(state(queue("queue/alice/q", 1000), true, warned) == QueueState::exempt);
  CHECK(state(queue("queue/alice/q", std::nullopt), true, none) == QueueState::exempt);
  CHECK(state(queue("amq.gen-xyz", 1000), false, none) == QueueState::not_a_users_queue);
  CHECK(state(queue("amq.gen-xyz", 1000), true, warned) == QueueState::not_a_users_queue);
  CHECK(state(queue("queue/9bad/q", 1000), false, none) == QueueState::not_a_users_queue);

  // Bounded by its owner at or below the deletion threshold: whatever its
  // size (what is over the bound is unacknowledged, or stats lag).
  QueueInfo bounded = queue("queue/alice/q", 25);
  bounded.max_length_argument = 20;
  CHECK(state(bounded, false, warned) == QueueState::bounded);
  bounded.max_length_argument = 21;
  CHECK(state(bounded, false, none) == QueueState::over_deletion);
  bounded.max_length_argument = std::nullopt;
  bounded.policy_max_length = 5;
  CHECK(state(bounded, false, none) == QueueState::bounded);
  // The broker applies the lower of the two.
  bounded.max_length_argument = 1000;
  CHECK(state(bounded, false, none) == QueueState::bounded);
  bounded.policy_max_length = 100;
  CHECK(state(bounded, false, none) == QueueState::over_deletion);
  CHECK(queue_length_limit(bounded) == 100);
  bounded.max_length_argument = 0;  // a queue that holds nothing
  CHECK(queue_length_limit(bounded) == 0);
  CHECK(state(bounded, false, none) == QueueState::bounded);
  CHECK(queue_length_limit(queue("queue/alice/q", 1)) == std::nullopt);
  // Exempt still reads as exempt; a name outside queue/<user>/ is not ours.
  CHECK(state(bounded, true, none) == QueueState::exempt);
  bounded.name = "amq.gen-xyz";
  CHECK(state(bounded, false, none) == QueueState::not_a_users_queue);

  // Each state reads differently.
  std::set<std::string_view> names;
  for (QueueState s : {QueueState::not_a_users_queue, QueueState::exempt, QueueState::bounded,
                       QueueState::size_unknown, QueueState::ok, QueueState::back_under_warning,
                       QueueState::over_warning, QueueState::warned, QueueState::over_deletion}) {
    CHECK(to_string(s) != "?");
    names.insert(to_string(s));
  }
  CHECK(names.size() == 9);
  CHECK(to_string(QueueState::ok) == "ok");
  CHECK(to_string(QueueState::exempt) == "exempt (unbounded)");
}

TEST_CASE("queue_statuses: owner, address, the owner's thresholds and notice, and the state") {
  GuardianInput in = with_alice();
  in.users[0].queue_warn = 10;
  in.users[0].queue_delete = 20;
  in.limits = QueueLimits{100, 200};
  in.queues = {queue("queue/alice/q", 15), queue("queue/bob/q", 15), queue("queue/ghost/q", 150),
               queue("amq.gen-xyz", 5), queue("queue/bob/archive", 500)};
  in.exempt_queues = {ResourceKey{"/", "queue/bob/archive"}};
  in.queue_notices = {
      QueueNotice{{"/", "queue/alice/q"}, "alice", QueueNoticeState::warned, 12, ""}};
  std::vector<QueueStatus> statuses = queue_statuses(in);
  REQUIRE(statuses.size() == 5);
  CHECK(statuses[0].queue.name == "queue/alice/q");
  CHECK(statuses[0].owner == "alice");
  CHECK(statuses[0].owner_known);
  CHECK(statuses[0].emails == std::vector<std::string>{"alice@example.org"});
  CHECK(statuses[0].limits.warn == 10);
  CHECK(statuses[0].limits.remove == 20);
  CHECK(statuses[0].notice == QueueNoticeState::warned);
  CHECK(statuses[0].state == QueueState::warned);
  CHECK(statuses[1].limits.warn == 100);
  CHECK_FALSE(statuses[1].notice);
  CHECK(statuses[1].state == QueueState::ok);
  CHECK(statuses[2].owner == "ghost");
  CHECK_FALSE(statuses[2].owner_known);
  CHECK(statuses[2].emails.empty());
  CHECK(statuses[2].state == QueueState::over_warning);
  CHECK_FALSE(statuses[3].owner);
  CHECK(statuses[3].state == QueueState::not_a_users_queue);
  CHECK(statuses[4].state == QueueState::exempt);
}

TEST_CASE("a queue is warned once past the threshold, told when back, deleted past the limit") {
  GuardianInput in = with_alice();
  in.queues = {queue("queue/alice/small", 1999), queue("queue/alice/big", 2000),
               queue("queue/alice/huge", 8000), queue("queue/bob/other", 5)};
  std::vector<GuardianAction> actions = plan_guardian(in);
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].kind == Kind::warn_queue);
  CHECK(actions[0].name == "queue/alice/big");
  CHECK(actions[0].owner == "alice");
  CHECK(actions[0].emails == std::vector<std::string>{"alice@example.org"});
  CHECK(actions[0].known_user);
  CHECK(actions[0].messages == 2000);
  CHECK(actions[0].threshold == 2000);
  CHECK(actions[0].delete_threshold == 8000);
  CHECK(actions[1].kind == Kind::delete_queue);
  CHECK(actions[1].name == "queue/alice/huge");
  CHECK(actions[1].threshold == 8000);

  // Warned already: nothing more while it stays between the thresholds.
  in.queues = {queue("queue/alice/big", 5000)};
  in.queue_notices = {
      QueueNotice{{"/", "queue/alice/big"}, "alice", QueueNoticeState::warned, 2000, ""}};
  CHECK(plan_guardian(in).empty());

  // Below the warning threshold again: told once.
  in.queues = {queue("queue/alice/big", 10)};
  GuardianAction back = only_action(in);
  CHECK(back.kind == Kind::queue_back_to_normal);
  CHECK(back.messages == 10);

  // Past the deletion threshold while warned: deleted.
  in.queues = {queue("queue/alice/big", 9000)};
  CHECK(only_action(in).kind == Kind::delete_queue);
}

TEST_CASE("exempt queues, queues of nobody, and queues of unknown size are left alone") {
  GuardianInput in = with_alice();
  in.queues = {queue("queue/alice/unbounded", 100000), queue("amq.gen-xyz", 100000),
               queue("pulse-internal", 100000), queue("queue/alice/new", std::nullopt)};
  in.exempt_queues = {ResourceKey{"/", "queue/alice/unbounded"}};
  CHECK(plan_guardian(in).empty());

  // Exempting a warned queue forgets the warning, without mail.
  in.queue_notices = {
      QueueNotice{{"/", "queue/alice/unbounded"}, "alice", QueueNoticeState::warned, 3000, ""}};
  GuardianAction forget = only_action(in);
  CHECK(forget.kind == Kind::forget_queue_notice);
  CHECK(mails_for(forget).empty());

  // Exemption is per vhost.
  in.queue_notices.clear();
  in.queues = {queue("queue/alice/unbounded", 100000, "other")};
  GuardianAction other = only_action(in);
  CHECK(other.kind == Kind::delete_queue);
  CHECK(other.vhost == "other");
}

TEST_CASE("queues their owners bounded at or below the deletion threshold are left alone") {
  GuardianInput in = with_alice();
  in.limits = QueueLimits{10, 20};
  QueueInfo capped = queue("queue/alice/capped", 19);
  capped.max_length_argument = 20;
  QueueInfo policed = queue("queue/alice/policed", 30);  // unacknowledged beyond the bound
  policed.policy = "pulse-bounded";
  policed.policy_max_length = 15;
  QueueInfo loose = queue("queue/alice/loose", 25);
  loose.max_length_argument = 50;
  in.queues = {capped, policed, loose};
  GuardianAction only = only_action(in);
  CHECK(only.kind == Kind::delete_queue);
  CHECK(only.name == "queue/alice/loose");

  // Bounding a warned queue forgets the warning, without mail; the owner's
  // own threshold is the one compared with.
  in.queues = {capped};
  in.queue_notices = {
      QueueNotice{{"/", "queue/alice/capped"}, "alice", QueueNoticeState::warned, 12, ""}};
  GuardianAction forget = only_action(in);
  CHECK(forget.kind == Kind::forget_queue_notice);
  CHECK(forget.reason == "bounded by its owner");
  CHECK(mails_for(forget).empty());
  in.queue_notices.clear();
  in.users[0].queue_delete = 19;
  CHECK(only_action(in).kind == Kind::delete_queue);
}

TEST_CASE("per-user thresholds replace the global ones") {
  GuardianInput in = with_alice();
  in.users[0].queue_warn = 10;
  in.users[0].queue_delete = 20;
  in.queues = {queue("queue/alice/q", 10), queue("queue/bob/q", 10), queue("queue/alice/r", 20)};
  std::vector<GuardianAction> actions = plan_guardian(in);
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].kind == Kind::warn_queue);
  CHECK(actions[0].name == "queue/alice/q");
  CHECK(actions[0].threshold == 10);
  CHECK(actions[0].delete_threshold == 20);
  CHECK(actions[1].kind == Kind::delete_queue);
  CHECK(actions[1].name == "queue/alice/r");
}

TEST_CASE(
    "a deletion cut short by a restart is finished, and a warned queue that vanished is "
    "forgotten") {
  GuardianInput in = with_alice();
  in.queue_notices = {
      QueueNotice{{"/", "queue/alice/gone"}, "alice", QueueNoticeState::deleting, 9000, ""},
      QueueNotice{{"/", "queue/alice/left"}, "alice", QueueNoticeState::warned, 3000, ""}};
  std::vector<GuardianAction> actions = plan_guardian(in);
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].kind == Kind::finish_queue_deletion);
  CHECK(actions[0].messages == 9000);
  CHECK(mails_for(actions[0]).size() == 1);
  CHECK(actions[1].kind == Kind::forget_queue_notice);
  CHECK(mails_for(actions[1]).empty());

  // Still there and still big after the restart: deleted again.
  in.queue_notices.resize(1);
  in.queues = {queue("queue/alice/gone", 9500)};
  CHECK(only_action(in).kind == Kind::delete_queue);
}

TEST_CASE("an account without owners, or unknown to authsvc, still has limits, no mail is made") {
  GuardianInput in = with_alice();
  in.users[0].owners.clear();  // imported from RabbitMQ, no owner yet
  in.queues = {queue("queue/alice/q", 3000), queue("queue/ghost/q", 9000)};
  std::vector<GuardianAction> actions = plan_guardian(in);
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].kind == Kind::warn_queue);
  CHECK(actions[0].emails.empty());
  CHECK(actions[0].known_user);
  CHECK(mails_for(actions[0]).empty());
  CHECK(actions[1].kind == Kind::delete_queue);
  CHECK(actions[1].owner == "ghost");
  CHECK_FALSE(actions[1].known_user);
  CHECK(mails_for(actions[1]).empty());
}

TEST_CASE("every mail about an account goes to each of its owners, one mail each") {
  GuardianInput in = with_alice();
  in.users[0].owners = {"alice@example.org", "ops@example.org"};
  in.queues = {queue("queue/alice/q", 3000)};
  in.queue_notices = {
      QueueNotice{{"/", "queue/alice/gone"}, "alice", QueueNoticeState::deleting, 9000, ""}};
  in.exchanges = {ExchangeInfo{"/", "exchange/alice/fan", "fanout", true, false, false, {}}};
  std::vector<GuardianAction> actions = plan_guardian(in);
  REQUIRE(actions.size() == 3);
  for (const GuardianAction& a : actions) {
    CAPTURE(to_string(a.kind));
    std::vector<OutboxMail> mails = mails_for(a);
    REQUIRE(mails.size() == 2);
    CHECK(mails[0].recipient == "alice@example.org");
    CHECK(mails[1].recipient == "ops@example.org");
    CHECK(mails[0].subject == mails[1].subject);
    CHECK(mails[0].body == mails[1].body);
    CHECK_FALSE(mails[0].subject.empty());
  }
}

TEST_CASE("exchanges under exchange/<user>/ must be durable topic exchanges: reported once") {
  GuardianInput in = with_alice();
  ExchangeInfo good{"/", "exchange/alice/good", "topic", true, false, false, {}};
  ExchangeInfo fanout{"/", "exchange/alice/fan", "fanout", true, false, false, {}};
  ExchangeInfo transient{"/", "exchange/bob/tmp", "topic", false, false, false, {}};
  ExchangeInfo system{"/", "amq.direct", "direct", true, false, false, {}};
  in.exchanges = {good, fanout, transient, system};
  std::vector<GuardianAction> actions = plan_guardian(in);
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].kind == Kind::report_exchange);
  CHECK(actions[0].name == "exchange/alice/fan");
  CHECK(actions[0].reason == "its type is fanout, not topic");
  CHECK(actions[1].name == "exchange/bob/tmp");
  CHECK(actions[1].reason == "it is not durable");

  in.exchange_notices = {ExchangeNotice{{"/", "exchange/alice/fan"}, "alice", "x", ""},
                         ExchangeNotice{{"/", "exchange/bob/tmp"}, "bob", "x", ""}};
  CHECK(plan_guardian(in).empty());

  // Fixed (or gone): the notice is forgotten.
  in.exchanges = {good, system};
  actions = plan_guardian(in);
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].kind == Kind::forget_exchange_notice);

  // Deleted only when the operator asked for it.
  in.exchanges = {fanout};
  in.exchange_notices.clear();
  in.delete_noncompliant_exchanges = true;
  CHECK(only_action(in).kind == Kind::delete_exchange);
}

TEST_CASE("connections of disabled, deleted and rotated users are closed, others are not") {
  GuardianInput in = with_alice();
  in.now = at("2026-11-28T00:00:00Z");
  in.users.push_back(user("carol"));
  in.users.back().active = false;
  in.users.push_back(user("dave"));
  in.users.back().credential_issued_at = "2026-11-27T12:00:00.500000Z";
  const std::int64_t rotated = *rfc3339_to_unix_ms("2026-11-27T12:00:00.500000Z");
  in.deleted_users = {"erin"};
  in.connections = {connection("c1", "alice", 1),          connection("c2", "carol", 1),
                    connection("c3", "dave", rotated - 1), connection("c4", "dave", rotated),
                    connection("c5", "dave", rotated + 1), connection("c6", "erin", 1),
                    connection("c7", "ops-admin", 1),      connection("c8", "", 1),
                    connection("c9", "dave", std::nullopt)};
  // c1: alice's connection is older than her account; only a name
  // recreated after a deletion has such (and then it must go).
  in.connections[0].connected_at_ms = *rfc3339_to_unix_ms("2026-11-27T10:00:00.001Z");
  CHECK(closed(in) == std::vector<std::string>{
                          "c2: user carol is disabled",
                          "c3: the token of user dave was rotated after this connection opened",
                          "c4: the token of user dave was rotated after this connection opened",
                          "c6: user erin was deleted",
                      });
}

TEST_CASE("an expired account's connections are closed, from its expiry on, whenever opened") {
  GuardianInput in = with_alice();
  in.users[0].expires_at = "2026-12-01T00:00:00.000000Z";
  in.users[1].expires_at = "2026-12-01T00:00:00.001000Z";
  // Opened after their credentials were issued: only the expiry can close them.
  const std::int64_t opened = *rfc3339_to_unix_ms("2026-11-29T00:00:00Z");
  in.connections = {connection("a1", "alice", opened), connection("a2", "alice", std::nullopt),
                    connection("b1", "bob", opened)};
  in.now = at("2026-11-30T23:59:59.999Z");
  CHECK(closed(in).empty());
  in.now = at("2026-12-01T00:00:00Z");
  CHECK(closed(in) == std::vector<std::string>{
                          "a1: the account alice expired at 2026-12-01T00:00:00.000000Z",
                          // The broker need not say when it opened: expiry needs no time.
                          "a2: the account alice expired at 2026-12-01T00:00:00.000000Z",
                      });
  // An expiry the planner cannot read is taken as passed: fail closed.
  in.users[1].expires_at = "soon";
  CHECK(closed(in).size() == 3);
  CHECK(closed(in)[2] == "b1: the expiry time of user bob cannot be read");
}

TEST_CASE("during a rotation's grace both credentials' connections stay, after it the old go") {
  GuardianInput in = with_alice();
  UserInfo& alice = in.users[0];
  // Issued at creation (10:00), rotated at 12:00 with a grace to 13:00.
  alice.previous_issued_at = "2026-11-27T10:00:00.000000Z";
  alice.credential_issued_at = "2026-11-27T12:00:00.000000Z";
  alice.previous_valid_until = "2026-11-27T13:00:00.000000Z";
  const std::int64_t created = *rfc3339_to_unix_ms(alice.previous_issued_at);
  const std::int64_t rotated = *rfc3339_to_unix_ms(alice.credential_issued_at);
  in.connections = {connection("before-rotation", "alice", rotated - 1000),
                    connection("after-rotation", "alice", rotated + 1000),
                    connection("unplaced", "alice", std::nullopt)};

  in.now = at("2026-11-27T12:59:59.999Z");
  CHECK(closed(in).empty());
  in.now = at("2026-11-27T13:00:00Z");
  CHECK(closed(in) ==
        std::vector<std::string>{"before-rotation: the grace of the previous credential of user "
                                 "alice ended at 2026-11-27T13:00:00.000000Z"});

  // Rotated again during the grace (12:30): the first token stops at once,
  // the second is in its grace. A connection opened before the second was
  // issued holds the first, and goes; those of the second stay.
  alice.previous_issued_at = "2026-11-27T12:00:00.000000Z";
  alice.credential_issued_at = "2026-11-27T12:30:00.000000Z";
  alice.previous_valid_until = "2026-11-27T13:30:00.000000Z";
  in.connections = {connection("first", "alice", created + 1000),
                    connection("second", "alice", rotated + 1000),
                    connection("third", "alice", rotated + 31 * 60 * 1000)};
  in.now = at("2026-11-27T12:45:00Z");
  CHECK(closed(in) ==
        std::vector<std::string>{"first: the credential of user alice was rotated twice since this "
                                 "connection opened (the grace of the one before ends at "
                                 "2026-11-27T13:30:00.000000Z)"});
  in.now = at("2026-11-27T13:30:00Z");
  std::vector<std::string> after = closed(in);
  REQUIRE(after.size() == 2);
  CHECK(after[0].rfind("first: the grace of the previous credential", 0) == 0);
  CHECK(after[1].rfind("second: the grace of the previous credential", 0) == 0);
}

TEST_CASE("an imported password's connections are older than anything known: none is closed") {
  GuardianInput in = with_alice();
  UserInfo& alice = in.users[0];
  alice.credential_issued_at = "";  // imported, never rotated
  in.connections = {connection("c1", "alice", 1)};
  in.now = at("2026-11-27T12:00:00Z");
  CHECK(closed(in).empty());

  // Rotated at 12:00 with a grace: the imported password is the previous
  // credential, so during the grace nothing is closed; after it, what was
  // opened before the rotation is.
  alice.credential_issued_at = "2026-11-27T12:00:00.000000Z";
  alice.previous_issued_at = "";
  alice.previous_valid_until = "2026-11-27T13:00:00.000000Z";
  in.connections.push_back(connection("c2", "alice", *rfc3339_to_unix_ms("2026-11-27T12:00:01Z")));
  in.now = at("2026-11-27T12:30:00Z");
  CHECK(closed(in).empty());
  in.now = at("2026-11-27T13:00:00Z");
  CHECK(closed(in) ==
        std::vector<std::string>{"c1: the grace of the previous credential of user alice ended "
                                 "at 2026-11-27T13:00:00.000000Z"});

  // A credential time the planner cannot read: fail closed.
  alice.credential_issued_at = "yesterday";
  CHECK(closed(in).size() == 2);
}

TEST_CASE("expiry notices: the latest due one, to every owner, once, and none when not due") {
  GuardianInput in = with_alice();
  in.expiry_notice_leads = {std::chrono::days(7), std::chrono::days(1)};
  in.now = at("2026-11-30T12:00:00Z");
  in.users[0].owners = {"alice@example.org", "ops@example.org"};
  in.users[0].expires_at = "2026-12-01T00:00:00.000000Z";  // in 12 hours
  in.users[1].expires_at = "2026-12-20T00:00:00.000000Z";  // not yet due
  GuardianAction a = only_action(in);
  CHECK(a.kind == Kind::expiry_notice);
  CHECK(a.owner == "alice");
  CHECK(a.name == "alice");
  CHECK(a.expires_at == "2026-12-01T00:00:00.000000Z");
  CHECK(a.lead == 86400);  // the 1-day notice alone, not the 7-day one too
  CHECK(a.remaining == 12 * 3600);
  CHECK(a.emails == std::vector<std::string>{"alice@example.org", "ops@example.org"});
  CHECK(mails_for(a).size() == 2);

  // Sent (the store says so): not again.
  in.users[0].expiry_notice_lead = 86400;
  CHECK(plan_guardian(in).empty());

  // Bob's 7-day notice comes 7 days before, then his 1-day one.
  in.now = at("2026-12-13T00:00:00Z");
  in.users[0].expires_at = "";
  CHECK(only_action(in).lead == 7 * 86400);
  in.users[1].expiry_notice_lead = 7 * 86400;
  CHECK(plan_guardian(in).empty());
  in.now = at("2026-12-19T00:00:00Z");
  CHECK(only_action(in).lead == 86400);

  // Disabled, expired, an unreadable time, or no leads: no notice.
  in.users[1].active = false;
  CHECK(plan_guardian(in).empty());
  in.users[1].active = true;
  in.users[1].expires_at = "bad";
  in.connections.clear();
  std::vector<GuardianAction> actions = plan_guardian(in);
  CHECK(actions.empty());
  in.users[1].expires_at = "2026-12-20T00:00:00.000000Z";
  in.expiry_notice_leads.clear();
  CHECK(plan_guardian(in).empty());
  in.expiry_notice_leads = {std::chrono::days(1)};
  in.now = at("2026-12-20T00:00:00Z");
  CHECK(plan_guardian(in).empty());
}

TEST_CASE("expiry notices for an account without owners are planned, with nobody to mail") {
  GuardianInput in = with_alice();
  in.expiry_notice_leads = {std::chrono::days(1)};
  in.now = at("2026-11-30T12:00:00Z");
  in.users[0].owners.clear();
  in.users[0].expires_at = "2026-12-01T00:00:00.000000Z";
  GuardianAction a = only_action(in);
  CHECK(a.kind == Kind::expiry_notice);
  CHECK(a.known_user);
  CHECK(mails_for(a).empty());
}

TEST_CASE("a name in both user databases is reported once, an operator's account never") {
  GuardianInput in = with_alice();
  in.deleted_users = {"carol"};
  // The guardian's own account, alice (authsvc's), carol (deleted in authsvc).
  in.internal_users = {"guardian", "alice", "carol"};
  std::vector<GuardianAction> actions = plan_guardian(in);
  REQUIRE(actions.size() == 2);
  for (const GuardianAction& a : actions) {
    CHECK(a.kind == GuardianAction::Kind::report_internal_user);
    CHECK(a.emails.empty());  // for the operator: nobody is mailed
  }
  CHECK(actions[0].name == "alice");
  CHECK(actions[0].reason ==
        "authsvc's user alice is also in the broker's internal user database, where a login "
        "authsvc refuses is tried next; remove it there: rabbitmqctl delete_user alice");
  CHECK(actions[1].name == "carol");
  CHECK(actions[1].reason.rfind("authsvc's deleted user carol is also", 0) == 0);
  CHECK(to_string(actions[0].kind) == std::string("internal user"));

  in.reported_internal_users = {"alice", "carol"};
  CHECK(plan_guardian(in).empty());
}

TEST_CASE("the mails name the queue, its vhost, its owner and the figures") {
  GuardianAction a;
  a.kind = Kind::warn_queue;
  a.vhost = "/";
  a.name = "queue/alice/jobs";
  a.owner = "alice";
  a.emails = {"alice@example.org"};
  a.messages = 2345;
  a.threshold = 2000;
  a.delete_threshold = 8000;
  std::vector<OutboxMail> mails = mails_for(a);
  REQUIRE(mails.size() == 1);
  const OutboxMail* mail = &mails[0];
  CHECK(mail->recipient == "alice@example.org");
  CHECK(mail->subject == "[Pulse] queue queue/alice/jobs holds 2345 messages");
  for (const char* part : {"queue/alice/jobs", "vhost /", "owner alice", "2345", "2000", "8000",
                           "x-max-length=8000", "bounded at or below 8000"}) {
    CAPTURE(part);
    CHECK(mail->body.find(part) != std::string::npos);
  }
  a.kind = Kind::delete_queue;
  a.messages = 8100;
  a.threshold = 8000;
  mails = mails_for(a);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].subject == "[Pulse] queue queue/alice/jobs was deleted (8100 messages)");
  CHECK(mails[0].body.find("8100 messages") != std::string::npos);
  a.kind = Kind::queue_back_to_normal;
  a.messages = 12;
  a.threshold = 2000;
  CHECK(mails_for(a).at(0).subject ==
        "[Pulse] queue queue/alice/jobs is back to normal (12 messages)");
}

TEST_CASE("the expiry mail says what expires when, how long is left, and how to renew") {
  GuardianAction a;
  a.kind = Kind::expiry_notice;
  a.name = a.owner = "alice";
  a.emails = {"alice@example.org", "ops@example.org"};
  a.known_user = true;
  a.expires_at = "2026-12-01T00:00:00.000000Z";
  a.lead = 7 * 86400;
  a.remaining = 6 * 86400 + 23 * 3600;
  std::vector<OutboxMail> mails = mails_for(a);
  REQUIRE(mails.size() == 2);
  CHECK(mails[0].subject == "[Pulse] account alice expires in 6 days, on 2026-12-01 00:00:00 UTC");
  for (const char* part :
       {"The Pulse account alice expires on 2026-12-01 00:00:00 UTC,\nin 6 days.",
        "no longer log in", "connections it still has open are closed", "ask a Pulse operator",
        "authsvc user set alice --expires WHEN", "the notice due 7d before the expiry",
        "owners: alice@example.org, ops@example.org."}) {
    CAPTURE(part);
    CHECK(mails[0].body.find(part) != std::string::npos);
  }
  // What is left, rounded down to a unit people use.
  a.remaining = 12 * 3600 + 59 * 60;
  CHECK(mails_for(a)[0].subject.find("expires in 12 hours,") != std::string::npos);
  a.remaining = 61;
  CHECK(mails_for(a)[0].subject.find("expires in 1 minute,") != std::string::npos);
  a.remaining = 59;
  CHECK(mails_for(a)[0].subject.find("expires in less than a minute,") != std::string::npos);
}

}  // namespace authsvc

namespace authsvc {
namespace {

GuardianInput capping(std::vector<QueueInfo> queues) {
  GuardianInput in = with_alice();
  in.limits = QueueLimits{20, 50, OverLimit::cap};
  in.queues = std::move(queues);
  return in;
}

QueueNotice capped_notice(const std::string& name) {
  return QueueNotice{ResourceKey{"/", name}, "alice", QueueNoticeState::capped, 60, ""};
}

QueueInfo with_ready(QueueInfo q, std::int64_t ready) {
  q.messages_ready = ready;
  return q;
}

QueueInfo under_cap(QueueInfo q) {
  q.capped_by_guardian = true;
  return q;
}

}  // namespace

TEST_CASE("cap mode: a queue past the deletion threshold is capped there, not deleted") {
  GuardianAction a = only_action(capping({queue("queue/alice/big", 60)}));
  CHECK(a.kind == Kind::cap_queue);
  CHECK(a.threshold == 50);
  CHECK(a.over_limit == OverLimit::cap);
  CHECK_FALSE(a.notice_state);
  std::vector<OutboxMail> mails = mails_for(a);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].subject == "[Pulse] queue queue/alice/big is capped at 50 messages");
  CHECK(mails[0].body.find("operator policy " + cap_policy_name("/", "queue/alice/big")) !=
        std::string::npos);
  CHECK(mails[0].body.find("max-length 50") != std::string::npos);
  CHECK(mails[0].body.find("fewer than 20 ready") != std::string::npos);
  CHECK(mails[0].body.find("rabbitmqctl clear_operator_policy -p / authsvc-cap-") !=
        std::string::npos);

  // Per account: bob's queues are deleted (the default), alice's capped.
  GuardianInput in = with_alice();
  in.limits = QueueLimits{20, 50};
  in.users[0].over_limit = OverLimit::cap;
  in.queues = {queue("queue/alice/big", 60), queue("queue/bob/big", 60)};
  std::vector<GuardianAction> actions = plan_guardian(in);
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].kind == Kind::cap_queue);
  CHECK(actions[1].kind == Kind::delete_queue);
  // And the other way round: the guardian caps, the account deletes.
  in = capping({queue("queue/alice/big", 60)});
  in.users[0].over_limit = OverLimit::remove;
  CHECK(only_action(in).kind == Kind::delete_queue);
}

TEST_CASE("cap mode: a warning says the queue will be capped, not deleted") {
  GuardianInput in = capping({queue("queue/alice/q", 30)});
  in.growth[ResourceKey{"/", "queue/alice/q"}] = QueueGrowthRate{10, std::chrono::minutes(5)};
  GuardianAction a = only_action(in);
  REQUIRE(a.kind == Kind::warn_queue);
  std::string body = mails_for(a).at(0).body;
  CHECK(body.find("it will be capped there") != std::string::npos);
  CHECK(body.find("and is capped, in") != std::string::npos);
  CHECK(body.find("deleted") == std::string::npos);
}

TEST_CASE("cap mode: a queue whose overflow refuses publishers is deleted, and says why") {
  QueueInfo q = queue("queue/alice/big", 60);
  q.overflow = "reject-publish";
  GuardianAction a = only_action(capping({q}));
  CHECK(a.kind == Kind::delete_queue);
  CHECK(a.reason ==
        "not capped: its overflow is reject-publish, so a cap would refuse its publishers' "
        "messages");
  q.overflow = "drop-head";
  CHECK(only_action(capping({q})).kind == Kind::cap_queue);
}

TEST_CASE(
    "cap mode: a capped queue is left while full, capped again if the policy went, lifted "
    "once its ready messages are under the warning threshold") {
  GuardianInput in = capping({under_cap(with_ready(queue("queue/alice/big", 70), 50))});
  in.queue_notices = {capped_notice("queue/alice/big")};
  CHECK(plan_guardian(in).empty());
  CHECK(queue_statuses(in)[0].state == QueueState::capped);

  // Someone removed the policy (or a crash came between record and PUT):
  // applied again, and the action knows the notice is there (no mail).
  in.queues = {with_ready(queue("queue/alice/big", 70), 50)};
  GuardianAction again = only_action(in);
  CHECK(again.kind == Kind::cap_queue);
  CHECK(again.notice_state == QueueNoticeState::capped);

  // Ready under the warning threshold, unacknowledged ones not counted.
  in.queues = {under_cap(with_ready(queue("queue/alice/big", 45), 19))};
  GuardianAction lift = only_action(in);
  CHECK(lift.kind == Kind::lift_cap);
  CHECK(lift.messages == 19);
  CHECK(lift.reason == "back under the warning threshold");
  std::vector<OutboxMail> mails = mails_for(lift);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].subject == "[Pulse] the cap on queue queue/alice/big is lifted");
  CHECK(mails[0].body.find("it will be capped there") != std::string::npos);
  in.queues = {under_cap(with_ready(queue("queue/alice/big", 45), 20))};
  CHECK(plan_guardian(in).empty());
}

TEST_CASE("cap mode: a capped queue is lifted when exempted, bounded, or its account deletes") {
  GuardianInput in = capping({under_cap(with_ready(queue("queue/alice/big", 50), 50))});
  in.queue_notices = {capped_notice("queue/alice/big")};
  in.exempt_queues = {ResourceKey{"/", "queue/alice/big"}};
  GuardianAction a = only_action(in);
  CHECK(a.kind == Kind::lift_cap);
  CHECK(a.reason == "exempt");

  in.exempt_queues.clear();
  in.queues[0].max_length_argument = 40;
  a = only_action(in);
  CHECK(a.kind == Kind::lift_cap);
  CHECK(a.reason == "bounded by its owner");

  in.queues[0].max_length_argument.reset();
  in.users[0].over_limit = OverLimit::remove;
  a = only_action(in);
  CHECK(a.kind == Kind::lift_cap);
  CHECK(a.reason == "the account's queues are deleted past the threshold now");
}

TEST_CASE("cap mode: the cap of a queue that is gone is removed without a mail") {
  GuardianInput in = capping({});
  in.queue_notices = {capped_notice("queue/alice/big")};
  GuardianAction a = only_action(in);
  CHECK(a.kind == Kind::remove_cap);
  CHECK(a.reason == "the queue is gone");
  CHECK(mails_for(a).empty());
}

TEST_CASE("cap policy: its name is fixed-length and per queue, its pattern that queue alone") {
  std::string name = cap_policy_name("/", "queue/alice/jobs");
  CHECK(name.starts_with("authsvc-cap-"));
  CHECK(name.size() == std::string("authsvc-cap-").size() + 16);
  CHECK(name == cap_policy_name("/", "queue/alice/jobs"));
  CHECK(name != cap_policy_name("staging", "queue/alice/jobs"));
  CHECK(name != cap_policy_name("/", "queue/alice/jobs2"));
  // "/" + "a\0b" and "/\0a" + "b" differ: the separator is not ambiguous
  // for names without NUL, which RabbitMQ refuses anyway.
  CHECK(cap_policy_name(std::string_view("/a"), "b") != cap_policy_name("/", "ab"));
  CHECK(is_cap_policy(name));
  CHECK_FALSE(is_cap_policy("ha-all"));
  CHECK(cap_policy_pattern("queue/alice/jobs.v1") == "^queue\\/alice\\/jobs\\.v1\\z");
  CHECK(cap_policy_pattern("q_1(x)*+?[]{}|^$\\") ==
        "^q_1\\(x\\)\\*\\+\\?\\[\\]\\{\\}\\|\\^\\$\\\\\\z");
  CHECK(cap_policy_pattern("queue/\xc3\xa9t\xc3\xa9") == "^queue\\/\xc3\xa9t\xc3\xa9\\z");
}

TEST_CASE("recreated queues: a deleted queue listed again is told once, after the listing's lag") {
  GuardianInput in = with_alice();
  in.now = at("2026-12-01T10:00:30.000000Z");
  in.recreated_after = std::chrono::seconds(10);
  in.deleted_queues = {
      DeletedQueue{{"/", "queue/alice/big"}, "alice", "2026-12-01T10:00:00.000000Z", 9000, 8000}};
  in.queues = {queue("queue/alice/big", 0)};
  GuardianAction a = only_action(in);
  CHECK(a.kind == Kind::recreated_queue);
  CHECK(a.since == "2026-12-01T10:00:00.000000Z");
  std::vector<OutboxMail> mails = mails_for(a);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].subject ==
        "[Pulse] queue queue/alice/big was deleted on 2026-12-01 10:00:00 UTC and declared again");
  CHECK(mails[0].body.find("when it held 9000 messages, past the deletion threshold of 8000") !=
        std::string::npos);

  // Still listed within an interval of the deletion: the listing lags.
  in.now = at("2026-12-01T10:00:05.000000Z");
  CHECK(plan_guardian(in).empty());
  // Not listed: remembered for 30 days, then forgotten without a mail.
  in.queues.clear();
  in.now = at("2026-12-31T09:59:59.000000Z");
  CHECK(plan_guardian(in).empty());
  in.now = at("2026-12-31T10:00:00.000000Z");
  a = only_action(in);
  CHECK(a.kind == Kind::forget_deleted_queue);
  CHECK(mails_for(a).empty());
  // An unknown owner is not mailed, but the record goes all the same.
  in.now = at("2026-12-01T11:00:00.000000Z");
  in.deleted_queues[0].owner = "zed";
  in.queues = {queue("queue/zed/big", 0)};
  in.deleted_queues[0].queue.name = "queue/zed/big";
  a = only_action(in);
  CHECK(a.kind == Kind::recreated_queue);
  CHECK_FALSE(a.known_user);
  CHECK(mails_for(a).empty());
}

TEST_CASE(
    "orphans: a queue without consumers is recorded, told once after orphan_after, and "
    "forgotten when it has one again or is gone") {
  GuardianInput in = with_alice();
  in.orphan_after = std::chrono::hours(24);
  in.now = at("2026-12-01T10:00:00.000000Z");
  QueueInfo idle = queue("queue/alice/idle", 12);
  idle.consumers = 0;
  QueueInfo busy = queue("queue/alice/busy", 0);
  busy.consumers = 2;
  QueueInfo unknown = queue("queue/alice/unknown", 0);  // consumers not reported
  QueueInfo server = queue("amq.gen-1", 0);
  server.consumers = 0;
  in.queues = {idle, busy, unknown, server};
  GuardianAction a = only_action(in);
  CHECK(a.kind == Kind::note_idle_queue);
  CHECK(a.name == "queue/alice/idle");
  CHECK(a.since == "2026-12-01T10:00:00.000000Z");
  CHECK(mails_for(a).empty());

  in.idle_queues = {IdleQueue{{"/", "queue/alice/idle"}, "alice", a.since, ""}};
  in.now = at("2026-12-02T09:59:59.000000Z");
  CHECK(plan_guardian(in).empty());
  in.now = at("2026-12-02T10:00:00.000000Z");
  a = only_action(in);
  CHECK(a.kind == Kind::orphan_notice);
  std::vector<OutboxMail> mails = mails_for(a);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].subject ==
        "[Pulse] queue queue/alice/idle has had no consumer since 2026-12-01 10:00:00 UTC");
  CHECK(mails[0].body.find("it holds 12 messages") != std::string::npos);

  in.idle_queues[0].orphan_mailed_at = "2026-12-02T10:00:00.000000Z";
  CHECK(plan_guardian(in).empty());

  in.queues[0].consumers = 1;
  a = only_action(in);
  CHECK(a.kind == Kind::note_busy_queue);
  in.queues.clear();
  a = only_action(in);
  CHECK(a.kind == Kind::note_busy_queue);
  CHECK(a.reason == "the queue is gone");

  // Off: nothing recorded, nothing told.
  in.orphan_after.reset();
  in.queues = {idle};
  CHECK(plan_guardian(in).empty());
}

}  // namespace authsvc
