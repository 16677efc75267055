#include <doctest/doctest.h>

#include "authsvc/store/sqlite_store.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

struct GuardianStore {
  testing::TempDir dir;
  SqliteStore store{dir.file("a.db"), Actor{"cli", "tester"}, OpenMode::create_if_missing};
};

UserUpdate limits(std::optional<std::int64_t> warn, std::optional<std::int64_t> remove) {
  UserUpdate update;
  update.queue_warn = warn;
  update.queue_delete = remove;
  return update;
}

OutboxMail mail(const std::string& to, const std::string& subject) {
  return OutboxMail{0, to, subject, "body", 0};
}

}  // namespace

TEST_CASE("a notice and its mail are recorded together, the outbox empties as mail goes out") {
  GuardianStore s;
  ResourceKey q{"/", "queue/alice/jobs"};
  s.store.put_queue_notice(QueueNotice{q, "alice", QueueNoticeState::warned, 2500, ""},
                           mail("alice@example.org", "warned"));
  std::vector<QueueNotice> notices = s.store.queue_notices();
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].queue == q);
  CHECK(notices[0].state == QueueNoticeState::warned);
  CHECK(notices[0].messages == 2500);
  CHECK_FALSE(notices[0].since.empty());

  // Reopened, as after a restart: the same state and the same outbox.
  SqliteStore again(s.dir.file("a.db"), Actor{"guardian", ""});
  std::vector<OutboxMail> outbox = again.outbox(100);
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].recipient == "alice@example.org");
  again.outbox_failed(outbox[0].id, "connection refused");
  CHECK(again.outbox(100).at(0).attempts == 1);
  again.outbox_sent(outbox[0].id);
  CHECK(again.outbox(100).empty());

  again.remove_queue_notice(q, mail("alice@example.org", "back"));
  CHECK(again.queue_notices().empty());
  CHECK(again.outbox(100).at(0).subject == "back");
  // No address, no mail.
  again.put_queue_notice(QueueNotice{q, "alice", QueueNoticeState::deleting, 9000, ""},
                         mail("", "x"));
  CHECK(again.outbox(100).size() == 1);
}

TEST_CASE("exchange notices are kept until removed") {
  GuardianStore s;
  ResourceKey e{"/", "exchange/bob/fan"};
  s.store.put_exchange_notice(ExchangeNotice{e, "bob", "its type is fanout, not topic", ""},
                              mail("bob@example.org", "report"));
  REQUIRE(s.store.exchange_notices().size() == 1);
  CHECK(s.store.exchange_notices()[0].problem == "its type is fanout, not topic");
  s.store.remove_exchange_notice(e, std::nullopt);
  CHECK(s.store.exchange_notices().empty());
  CHECK(s.store.outbox(100).size() == 1);
}

TEST_CASE("queue exemptions are set and removed once each, and audited with the owner") {
  GuardianStore s;
  ResourceKey q{"/", "queue/alice/archive"};
  s.store.set_queue_exempt(q, "alice", true);
  CHECK_THROWS_WITH_AS(s.store.set_queue_exempt(q, "alice", true),
                       "queue 'queue/alice/archive' is already exempt", StoreError);
  CHECK(s.store.queue_exemptions() == std::vector<ResourceKey>{q});
  s.store.set_queue_exempt(q, "alice", false);
  CHECK(s.store.queue_exemptions().empty());
  CHECK_THROWS_AS(s.store.set_queue_exempt(q, "alice", false), StoreError);
  std::vector<AuditEvent> events = s.store.unexported_audit_events(0);
  REQUIRE(events.size() == 2);
  CHECK(events[0].action == "queue exempt");
  CHECK(events[0].user == "alice");
  CHECK(events[0].detail == "vhost='/' queue='queue/alice/archive'");
  CHECK(events[1].action == "queue unexempt");
}

TEST_CASE("per-user queue limits: set, shown, back to default, and checked") {
  GuardianStore s;
  s.store.add_user(NewUser{"alice", "", {}, {"/"}});
  s.store.update_user("alice", limits(100, 500));
  std::optional<UserInfo> alice = s.store.find_user("alice");
  CHECK(alice->queue_warn == 100);
  CHECK(alice->queue_delete == 500);
  s.store.update_user("alice", limits(std::nullopt, 500));
  CHECK_FALSE(s.store.find_user("alice")->queue_warn);
  CHECK_THROWS_WITH_AS(s.store.update_user("alice", limits(500, 100)),
                       "the warning threshold (500) must be below the deletion threshold (100)",
                       StoreError);
  CHECK_THROWS_AS(s.store.update_user("alice", limits(0, std::nullopt)), StoreError);
  CHECK_THROWS_AS(s.store.update_user("nobody", limits(1, 2)), StoreError);
}

TEST_CASE("deleted user names: deleted and not created again") {
  GuardianStore s;
  s.store.add_user(NewUser{"alice", "", {}, {"/"}});
  s.store.add_user(NewUser{"bob", "", {}, {"/"}});
  s.store.delete_user("alice");
  s.store.delete_user("bob");
  s.store.add_user(NewUser{"bob", "", {}, {"/"}});
  CHECK(s.store.deleted_user_names() == std::vector<std::string>{"alice"});
}

}  // namespace authsvc
