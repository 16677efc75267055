#include "authsvc/guardian/guardian_policy.h"

#include <doctest/doctest.h>

#include <set>

#include "authsvc/core/timestamp.h"
#include "authsvc/guardian/guardian_mail.h"

namespace authsvc {
namespace {

using Kind = GuardianAction::Kind;

UserInfo user(const std::string& name, const std::string& email = "") {
  UserInfo u;
  u.name = name;
  u.owners = {email.empty() ? name + "@example.org" : email};
  u.active = true;
  u.created_at = "2026-11-27T10:00:00.000000Z";
  u.credential_issued_at = u.created_at;
  return u;
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

  // Each state reads differently.
  std::set<std::string_view> names;
  for (QueueState s : {QueueState::not_a_users_queue, QueueState::exempt, QueueState::size_unknown,
                       QueueState::ok, QueueState::back_under_warning, QueueState::over_warning,
                       QueueState::warned, QueueState::over_deletion}) {
    CHECK(to_string(s) != "?");
    names.insert(to_string(s));
  }
  CHECK(names.size() == 8);
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
  CHECK(statuses[0].email == "alice@example.org");
  CHECK(statuses[0].limits.warn == 10);
  CHECK(statuses[0].limits.remove == 20);
  CHECK(statuses[0].notice == QueueNoticeState::warned);
  CHECK(statuses[0].state == QueueState::warned);
  CHECK(statuses[1].limits.warn == 100);
  CHECK_FALSE(statuses[1].notice);
  CHECK(statuses[1].state == QueueState::ok);
  CHECK(statuses[2].owner == "ghost");
  CHECK_FALSE(statuses[2].owner_known);
  CHECK(statuses[2].email == "");
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
  CHECK(actions[0].email == "alice@example.org");
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
  CHECK_FALSE(mail_for(forget));

  // Exemption is per vhost.
  in.queue_notices.clear();
  in.queues = {queue("queue/alice/unbounded", 100000, "other")};
  GuardianAction other = only_action(in);
  CHECK(other.kind == Kind::delete_queue);
  CHECK(other.vhost == "other");
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
  CHECK(mail_for(actions[0]));
  CHECK(actions[1].kind == Kind::forget_queue_notice);
  CHECK_FALSE(mail_for(actions[1]));

  // Still there and still big after the restart: deleted again.
  in.queue_notices.resize(1);
  in.queues = {queue("queue/alice/gone", 9500)};
  CHECK(only_action(in).kind == Kind::delete_queue);
}

TEST_CASE("an owner without address, or unknown to authsvc, still has limits, no mail is made") {
  GuardianInput in = with_alice();
  in.users[0].owners.clear();
  in.queues = {queue("queue/alice/q", 3000), queue("queue/ghost/q", 9000)};
  std::vector<GuardianAction> actions = plan_guardian(in);
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].kind == Kind::warn_queue);
  CHECK(actions[0].email.empty());
  CHECK_FALSE(mail_for(actions[0]));
  CHECK(actions[1].kind == Kind::delete_queue);
  CHECK(actions[1].owner == "ghost");
  CHECK_FALSE(mail_for(actions[1]));
}

TEST_CASE("exchanges under exchange/<user>/ must be durable topic exchanges: reported once") {
  GuardianInput in = with_alice();
  ExchangeInfo good{"/", "exchange/alice/good", "topic", true, false, false};
  ExchangeInfo fanout{"/", "exchange/alice/fan", "fanout", true, false, false};
  ExchangeInfo transient{"/", "exchange/bob/tmp", "topic", false, false, false};
  ExchangeInfo system{"/", "amq.direct", "direct", true, false, false};
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
  in.users.push_back(user("carol"));
  in.users.back().active = false;
  in.users.push_back(user("dave"));
  in.users.back().credential_issued_at = "2026-11-27T12:00:00.500000Z";
  const std::int64_t rotated = *rfc3339_to_unix_ms("2026-11-27T12:00:00.500000Z");
  in.deleted_users = {"erin"};
  auto connection = [](const std::string& name, const std::string& who,
                       std::optional<std::int64_t> at) {
    ConnectionInfo c;
    c.name = name;
    c.user = who;
    c.vhost = "/";
    c.connected_at_ms = at;
    return c;
  };
  in.connections = {connection("c1", "alice", 1),          connection("c2", "carol", 1),
                    connection("c3", "dave", rotated - 1), connection("c4", "dave", rotated),
                    connection("c5", "dave", rotated + 1), connection("c6", "erin", 1),
                    connection("c7", "ops-admin", 1),      connection("c8", "", 1),
                    connection("c9", "dave", std::nullopt)};
  std::vector<GuardianAction> actions = plan_guardian(in);
  std::vector<std::string> closed;
  for (const GuardianAction& a : actions) {
    CHECK(a.kind == Kind::close_connection);
    CHECK_FALSE(mail_for(a));
    closed.push_back(a.name + ": " + a.reason);
  }
  CHECK(closed == std::vector<std::string>{
                      "c2: user carol is disabled",
                      "c3: the token of user dave was rotated after this connection opened",
                      "c4: the token of user dave was rotated after this connection opened",
                      "c6: user erin was deleted",
                  });
}

TEST_CASE("the mails name the queue, its vhost, its owner and the figures") {
  GuardianAction a;
  a.kind = Kind::warn_queue;
  a.vhost = "/";
  a.name = "queue/alice/jobs";
  a.owner = "alice";
  a.email = "alice@example.org";
  a.messages = 2345;
  a.threshold = 2000;
  a.delete_threshold = 8000;
  std::optional<OutboxMail> mail = mail_for(a);
  REQUIRE(mail);
  CHECK(mail->recipient == "alice@example.org");
  CHECK(mail->subject == "[Pulse] queue queue/alice/jobs holds 2345 messages");
  for (const char* part : {"queue/alice/jobs", "vhost /", "owner alice", "2345", "2000", "8000"}) {
    CAPTURE(part);
    CHECK(mail->body.find(part) != std::string::npos);
  }
  a.kind = Kind::delete_queue;
  a.messages = 8100;
  a.threshold = 8000;
  mail = mail_for(a);
  REQUIRE(mail);
  CHECK(mail->subject == "[Pulse] queue queue/alice/jobs was deleted (8100 messages)");
  CHECK(mail->body.find("8100 messages") != std::string::npos);
  a.kind = Kind::queue_back_to_normal;
  a.messages = 12;
  a.threshold = 2000;
  CHECK(mail_for(a)->subject == "[Pulse] queue queue/alice/jobs is back to normal (12 messages)");
}

}  // namespace authsvc
