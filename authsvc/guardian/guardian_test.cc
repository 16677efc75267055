// The guardian carrying out its plan: against an in-memory broker and a
// fake mailer, with a real store and audit sink. The management API's own
// HTTP is in management_api_test.cc; a real broker in
// tests/e2e/guardian_e2e.py.
#include "authsvc/guardian/guardian.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "authsvc/core/timestamp.h"
#include "authsvc/guardian/fake_broker.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

// Takes every mail, except while `down` (the server cannot be used) and for
// the addresses it rejects (5xx) or defers (4xx).
class FakeMailer : public Mailer {
 public:
  void send(const Mail& mail) override {
    tried.push_back(mail.to);
    if (down) throw MailError("connection refused", MailError::Kind::server);
    if (rejected.count(mail.to)) {
      throw MailError("550 5.1.1 no such mailbox: " + mail.to, MailError::Kind::rejected);
    }
    if (deferred.count(mail.to)) {
      throw MailError("450 4.2.0 greylisted: " + mail.to, MailError::Kind::deferred);
    }
    sent.push_back(mail);
  }
  bool down = false;
  std::set<std::string> rejected;
  std::set<std::string> deferred;
  std::vector<std::string> tried;  // every recipient send() was called for
  std::vector<Mail> sent;

  std::size_t tries_to(const std::string& to) const {
    return static_cast<std::size_t>(std::count(tried.begin(), tried.end(), to));
  }
};

QueueInfo queue(const std::string& name, std::int64_t messages) {
  QueueInfo q;
  q.vhost = "/";
  q.name = name;
  q.messages = messages;
  q.durable = true;
  return q;
}

ConnectionInfo connection(const std::string& name, const std::string& user) {
  ConnectionInfo c;
  c.name = name;
  c.user = user;
  c.vhost = "/";
  c.connected_at_ms = 1;
  return c;
}

struct Fixture {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  std::unique_ptr<Store> cli = open_store(db, Actor{"cli", "tester"}, OpenMode::create_if_missing);
  std::unique_ptr<Store> store = open_store(db, Actor{"guardian", ""});
  testing::FakeBroker broker;
  FakeMailer mailer;
  testing::AuditLines audit;

  Fixture() { add_user("alice"); }
  void add_user(const std::string& name) {
    testing::record_issued_token(
        cli->add_user(NewUser{name, {name + "@example.org"}, {}, {"/"}, ""}));
  }
  // `name`'s when it was issued, in ms since the epoch.
  std::int64_t issued_ms(const std::string& name) {
    return rfc3339_to_unix_ms(cli->find_user(name).value().credential_issued_at).value();
  }
  static GuardianOptions options(bool dry_run = false) {
    GuardianOptions options;
    options.limits = QueueLimits{20, 50};
    options.dry_run = dry_run;
    return options;
  }
  // The options, with these delays before a turned-down mail's next tries.
  static GuardianOptions retrying(std::vector<std::chrono::milliseconds> delays) {
    GuardianOptions options = Fixture::options();
    options.mail_retry_delays = std::move(delays);
    return options;
  }
  // The options, with the guardian's clock at `now` (which a test moves).
  GuardianOptions clocked(bool dry_run = false) {
    GuardianOptions o = options(dry_run);
    o.clock = [this] { return now; };
    return o;
  }
  // Whole seconds, as a time an operator gives: what is left before an expiry
  // then reads as it was set ("12 hours", not "11 hours" and a fraction).
  std::chrono::system_clock::time_point now =
      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  Guardian guardian(bool dry_run = false) { return guardian(options(dry_run)); }
  Guardian guardian(const GuardianOptions& o, Mailer* with = nullptr) {
    return Guardian(*store, *store, broker, o.dry_run ? nullptr : with ? with : &mailer, audit, o);
  }
  std::int64_t outbox_attempts(const std::string& to) {
    for (const OutboxMail& m : store->outbox(100)) {
      if (m.recipient == to) return m.attempts;
    }
    return -1;  // not in the outbox
  }
  std::vector<nlohmann::json> audit_lines() {
    return testing::parse_json_lines<nlohmann::json>(audit.lines());
  }
};

}  // namespace

TEST_CASE("guardian: a warning is mailed once, across restarts, and audited") {
  Fixture f;
  f.broker.queue_list = {queue("queue/alice/q", 25)};
  CHECK(f.guardian().run_once().size() == 1);
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].to == "alice@example.org");
  CHECK(f.mailer.sent[0].subject == "[Pulse] queue queue/alice/q holds 25 messages");
  // A new Guardian over the same store: a restart.
  CHECK(f.guardian().run_once().empty());
  CHECK(f.mailer.sent.size() == 1);
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["actor"] == "guardian");
  CHECK(lines[0]["action"] == "queue warn");
  CHECK(lines[0]["user"] == "alice");
  CHECK(lines[1]["action"] == "mail sent");
  CHECK(f.store->outbox(100).empty());
}

TEST_CASE("guardian: a warning says how fast the queue grew and when it reaches deletion") {
  Fixture f;
  f.add_user("bob");
  f.add_user("carol");
  Guardian guardian = f.guardian(f.clocked());
  f.broker.queue_list = {queue("queue/alice/q", 5), queue("queue/bob/q", 30),
                         queue("queue/carol/q", 19)};
  // Looks a minute apart: alice's queue grows by 10 a minute, bob's
  // shrinks, carol's has no earlier size (it was not listed).
  guardian.run_once();  // bob's is warned at once: no pace known yet
  f.now += std::chrono::seconds(30);
  f.broker.queue_list = {queue("queue/alice/q", 10), queue("queue/bob/q", 28)};
  guardian.run_once();
  f.now += std::chrono::seconds(30);
  f.broker.queue_list = {queue("queue/alice/q", 15), queue("queue/bob/q", 26),
                         queue("queue/carol/q", 21)};
  guardian.run_once();
  f.now += std::chrono::seconds(60);
  f.broker.queue_list = {queue("queue/alice/q", 25), queue("queue/bob/q", 26)};
  guardian.run_once();
  REQUIRE(f.mailer.sent.size() == 3);
  std::map<std::string, std::string> body;
  for (const Mail& m : f.mailer.sent) body[m.to] = m.body;
  CHECK(body["bob@example.org"].find("It grew") == std::string::npos);
  CHECK(body["bob@example.org"].find("not growing") == std::string::npos);
  CHECK(body["carol@example.org"].find("It grew") == std::string::npos);
  // 5 to 25 over two minutes: 10 a minute; 25 more to the threshold of 50.
  CHECK(body["alice@example.org"].find(
            "It grew by about 10 messages a minute over the last 2 minutes: at that pace it "
            "reaches 50 messages, and is deleted, in about 2 minutes.") != std::string::npos);
}

TEST_CASE("guardian: a warning about a queue that does not grow says so") {
  Fixture f;
  Guardian guardian = f.guardian(f.clocked());
  // Under alice's own threshold of 40 at first; then the operator lowers
  // it to 20, and the queue, shrinking, is warned.
  UserUpdate higher;
  higher.queue_warn = std::optional<std::int64_t>(40);
  f.cli->update_user("alice", higher);
  f.broker.queue_list = {queue("queue/alice/q", 33)};
  guardian.run_once();
  f.now += std::chrono::seconds(90);
  f.broker.queue_list = {queue("queue/alice/q", 30)};
  UserUpdate lower;
  lower.queue_warn = std::optional<std::int64_t>(20);
  f.cli->update_user("alice", lower);
  guardian.run_once();
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].body.find("It shrank by about 2.0 messages a minute over the last 1 "
                                   "minute.") != std::string::npos);
  CHECK(f.mailer.sent[0].body.find("It grew") == std::string::npos);
}

TEST_CASE("guardian: mail that cannot be sent stays in the outbox and goes out later, once") {
  Fixture f;
  f.mailer.down = true;
  f.broker.queue_list = {queue("queue/alice/q", 25)};
  Guardian guardian = f.guardian();
  guardian.run_once();
  CHECK(f.mailer.sent.empty());
  REQUIRE(f.store->outbox(100).size() == 1);
  CHECK(f.store->outbox(100)[0].attempts == 0);  // a server down is not the mail's failure
  guardian.run_once();                           // still down; the warning is not planned again
  CHECK(f.store->outbox(100).size() == 1);
  f.mailer.down = false;
  guardian.run_once();
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.store->outbox(100).empty());
  guardian.run_once();
  CHECK(f.mailer.sent.size() == 1);
}

TEST_CASE("guardian: one recipient the server rejects holds up no other mail, and is dropped") {
  Fixture f;
  f.add_user("bob");
  f.mailer.rejected = {"alice@example.org"};
  // Alice's mail is first in the outbox.
  f.broker.queue_list = {queue("queue/alice/q", 25), queue("queue/bob/q", 25)};
  Guardian guardian =
      f.guardian(Fixture::retrying({std::chrono::milliseconds(0), std::chrono::milliseconds(0)}));
  guardian.run_once();
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].to == "bob@example.org");
  CHECK(f.outbox_attempts("alice@example.org") == 1);

  // Tried at each look (no delay here), dropped at the third failure.
  guardian.run_once();
  CHECK(f.outbox_attempts("alice@example.org") == 2);
  guardian.run_once();
  CHECK(f.store->outbox(100).empty());
  CHECK(f.mailer.tries_to("alice@example.org") == 3);
  CHECK(f.mailer.tries_to("bob@example.org") == 1);
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE_FALSE(lines.empty());
  nlohmann::json dropped = lines.back();
  CHECK(dropped["actor"] == "guardian");
  CHECK(dropped["action"] == "mail dropped");
  std::string detail = dropped["detail"];
  CHECK(detail.find("to=alice@example.org") != std::string::npos);
  CHECK(detail.find("subject='[Pulse] queue queue/alice/q holds 25 messages'") !=
        std::string::npos);
  CHECK(detail.find("attempts=3") != std::string::npos);
  CHECK(detail.find("550 5.1.1 no such mailbox") != std::string::npos);

  // Gone for good: the next look tries nobody.
  guardian.run_once();
  CHECK(f.mailer.tried.size() == 4);
}

TEST_CASE("guardian: a mail the server defers waits its delay while later mail goes out") {
  Fixture f;
  f.add_user("bob");
  f.mailer.deferred = {"alice@example.org"};
  f.broker.queue_list = {queue("queue/alice/q", 25)};
  GuardianOptions options = Fixture::retrying({std::chrono::hours(1)});
  Guardian guardian = f.guardian(options);
  guardian.run_once();
  CHECK(f.mailer.tries_to("alice@example.org") == 1);
  CHECK(f.outbox_attempts("alice@example.org") == 1);

  // The next look sends a new mail, and leaves alice's alone for the hour.
  f.broker.queue_list.push_back(queue("queue/bob/q", 25));
  guardian.run_once();
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].to == "bob@example.org");
  CHECK(f.mailer.tries_to("alice@example.org") == 1);
  CHECK(f.outbox_attempts("alice@example.org") == 1);

  // The delays live in memory: after a restart the mail is tried at once,
  // and its attempts, kept in the outbox, still count. Two was the most.
  Guardian restarted = f.guardian(options);
  restarted.run_once();
  CHECK(f.mailer.tries_to("alice@example.org") == 2);
  CHECK(f.store->outbox(100).empty());
  CHECK(f.audit_lines().back()["action"] == "mail dropped");
}

TEST_CASE("guardian: a hundred mails waiting out a delay do not hold back a newer one") {
  Fixture f;
  f.add_user("bob");
  // A hundred warnings to addresses the server defers, in the outbox first.
  for (int i = 0; i < 100; ++i) {
    std::string to = "greylisted" + std::to_string(i) + "@example.org";
    f.mailer.deferred.insert(to);
    std::string queue_name = "queue/alice/q" + std::to_string(i);
    f.store->put_queue_notice(
        QueueNotice{ResourceKey{"/", queue_name}, "alice", QueueNoticeState::warned, 25, ""},
        {OutboxMail{0, to, "warning " + std::to_string(i), "body", 0}});
    f.broker.queue_list.push_back(queue(queue_name, 25));
  }
  Guardian guardian = f.guardian(Fixture::retrying({std::chrono::hours(1)}));
  guardian.run_once();
  CHECK(f.mailer.tried.size() == 100);
  CHECK(f.mailer.sent.empty());
  // Bob's warning is queued behind them, and goes out at the next look.
  f.broker.queue_list.push_back(queue("queue/bob/q", 25));
  guardian.run_once();
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].to == "bob@example.org");
  CHECK(f.mailer.tried.size() == 101);
}

TEST_CASE("guardian: a mail server that is down costs no mail an attempt, and stops the look") {
  Fixture f;
  f.add_user("bob");
  f.mailer.down = true;
  f.broker.queue_list = {queue("queue/alice/q", 25), queue("queue/bob/q", 25)};
  // One delay: two tries would drop a mail.
  Guardian guardian = f.guardian(Fixture::retrying({std::chrono::milliseconds(0)}));
  for (int look = 1; look <= 3; ++look) {
    CAPTURE(look);
    guardian.run_once();
    // One try a look: the first failure says the server is down.
    CHECK(f.mailer.tried.size() == static_cast<std::size_t>(look));
    CHECK(f.outbox_attempts("alice@example.org") == 0);
    CHECK(f.outbox_attempts("bob@example.org") == 0);
  }
  f.mailer.down = false;
  guardian.run_once();
  CHECK(f.mailer.sent.size() == 2);
  CHECK(f.store->outbox(100).empty());
}

TEST_CASE("guardian: over a real SMTP server, a rejected recipient holds up no other mail") {
  Fixture f;
  f.add_user("bob");
  std::filesystem::create_directory(f.dir.path() / "mails");
  testing::ChildProcess sink({"/usr/bin/python3", AUTHSVC_SOURCE_DIR "/tests/e2e/smtp_sink.py",
                              "--dir", f.dir.file("mails"), "--reject", "alice@example.org"},
                             f.dir, "sink");
  MailServer server;
  server.url = "smtp://127.0.0.1:" + sink.await_first_line();
  server.from = "guardian@example.org";
  server.timeout = std::chrono::seconds(10);
  SmtpMailer smtp(server);
  f.broker.queue_list = {queue("queue/alice/q", 25), queue("queue/bob/q", 25)};
  Guardian guardian = f.guardian(Fixture::retrying({std::chrono::milliseconds(0)}), &smtp);
  guardian.run_once();
  // Bob's mail arrived; alice's failed once and waits in the outbox.
  REQUIRE(std::filesystem::exists(f.dir.file("mails/0001.json")));
  nlohmann::json stored = nlohmann::json::parse(testing::read_file(f.dir.file("mails/0001.json")));
  CHECK(stored["rcpt_tos"] == nlohmann::json::array({"bob@example.org"}));
  CHECK(f.outbox_attempts("alice@example.org") == 1);
  guardian.run_once();
  CHECK(f.store->outbox(100).empty());
  nlohmann::json dropped = f.audit_lines().back();
  CHECK(dropped["action"] == "mail dropped");
  CHECK(dropped["detail"].get<std::string>().find("550 5.1.1") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.dir.file("mails/0002.json")));
  CHECK(sink.stop() == 0);
}

TEST_CASE("guardian: a queue past the limit is deleted through the broker, and its owner told") {
  Fixture f;
  f.broker.queue_list = {queue("queue/alice/big", 60)};
  Guardian guardian = f.guardian();
  guardian.run_once();
  CHECK(f.broker.removals == std::vector<std::string>{"delete queue '/' 'queue/alice/big'"});
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].subject == "[Pulse] queue queue/alice/big was deleted (60 messages)");
  CHECK(f.store->queue_notices().empty());

  // The listing still shows it a moment later: found gone, no second mail.
  f.broker.gone = true;
  guardian.run_once();
  CHECK(f.broker.removals.size() == 2);
  CHECK(f.mailer.sent.size() == 1);
}

TEST_CASE("guardian: a deletion interrupted by a crash is finished and mailed after a restart") {
  Fixture f;
  // What a crash right after the DELETE leaves: the 'deleting' record.
  f.store->put_queue_notice(
      QueueNotice{ResourceKey{"/", "queue/alice/big"}, "alice", QueueNoticeState::deleting, 70, ""},
      {});
  f.guardian().run_once();  // the queue is no longer listed
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].subject == "[Pulse] queue queue/alice/big was deleted (70 messages)");
  CHECK(f.store->queue_notices().empty());
  CHECK(f.broker.removals.empty());
}

TEST_CASE("guardian: a deletion the broker refuses is tried again at the next look, mailed once") {
  Fixture f;
  f.broker.queue_list = {queue("queue/alice/big", 60), queue("queue/alice/q", 25)};
  f.broker.refuse_removals = true;
  Guardian guardian = f.guardian();
  guardian.run_once();
  CHECK(f.broker.removals.size() == 1);
  // The refusal held up nothing else: the warning went out.
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].subject == "[Pulse] queue queue/alice/q holds 25 messages");
  std::vector<QueueNotice> notices = f.store->queue_notices();
  REQUIRE(notices.size() == 2);
  CHECK(notices[0].queue.name == "queue/alice/big");
  CHECK(notices[0].state == QueueNoticeState::deleting);

  f.broker.refuse_removals = false;
  guardian.run_once();
  CHECK(f.broker.removals == std::vector<std::string>{"delete queue '/' 'queue/alice/big'",
                                                      "delete queue '/' 'queue/alice/big'"});
  REQUIRE(f.mailer.sent.size() == 2);
  CHECK(f.mailer.sent[1].subject == "[Pulse] queue queue/alice/big was deleted (60 messages)");
  REQUIRE(f.store->queue_notices().size() == 1);
  CHECK(f.store->queue_notices()[0].queue.name == "queue/alice/q");
}

TEST_CASE("guardian: connections of a disabled user are closed with the reason") {
  Fixture f;
  f.cli->set_active("alice", false);
  f.broker.connection_list = {connection("127.0.0.1:5000 -> 127.0.0.1:5672", "alice"),
                              connection("127.0.0.1:5001 -> 127.0.0.1:5672", "ops")};
  f.guardian().run_once();
  CHECK(f.broker.removals ==
        std::vector<std::string>{"close connection '127.0.0.1:5000 -> 127.0.0.1:5672' "
                                 "(authsvc: user alice is disabled)"});
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["action"] == "connection close");
  CHECK(lines[0]["detail"].get<std::string>().find("user alice is disabled") != std::string::npos);
}

TEST_CASE(
    "guardian: a user also in the broker's own database is reported once a run, not removed") {
  Fixture f;
  f.broker.internal_user_list = {"guardian-admin", "alice"};
  Guardian guardian = f.guardian();
  std::vector<GuardianAction> done = guardian.run_once();
  REQUIRE(done.size() == 1);
  CHECK(done[0].kind == GuardianAction::Kind::report_internal_user);
  CHECK(guardian.run_once().empty());  // the same run: said already
  CHECK(f.broker.removals.empty());
  CHECK(f.store->outbox(100).empty());
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["action"] == "internal user");
  CHECK(lines[0]["user"] == "alice");
  CHECK(lines[0]["detail"].get<std::string>().find("rabbitmqctl delete_user alice") !=
        std::string::npos);
  // A restart says it again: the operator may have missed it.
  CHECK(f.guardian().run_once().size() == 1);
}

TEST_CASE("guardian: a dry run changes, deletes and sends nothing, and says each thing once") {
  Fixture f;
  f.broker.queue_list = {queue("queue/alice/big", 60), queue("queue/alice/q", 25)};
  Guardian guardian = f.guardian(true);
  CHECK(guardian.run_once().size() == 2);
  CHECK(guardian.run_once().size() == 1);  // the warning is remembered; the deletion is not made
  CHECK(f.broker.removals.empty());
  CHECK(f.mailer.sent.empty());
  CHECK(f.store->queue_notices().empty());
  CHECK(f.store->outbox(100).empty());
  CHECK(f.audit_lines().empty());
}

TEST_CASE("guardian: a broker that throws is an error of the look, and nothing is done") {
  Fixture f;
  f.broker.queue_list = {queue("queue/alice/big", 60), queue("queue/alice/q", 25)};
  f.broker.unreachable = true;
  CHECK_THROWS_AS(f.guardian().run_once(), BrokerError);
  CHECK(f.broker.removals.empty());
  CHECK(f.mailer.sent.empty());
  CHECK(f.store->queue_notices().empty());
  CHECK(f.audit_lines().empty());
}

TEST_CASE("guardian: every owner of the account gets the mail, each tried on its own") {
  Fixture f;
  f.cli->add_owner("alice", "ops@example.org");
  f.mailer.rejected = {"alice@example.org"};
  f.broker.queue_list = {queue("queue/alice/q", 25)};
  Guardian guardian = f.guardian(Fixture::retrying({std::chrono::milliseconds(0)}));
  guardian.run_once();
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].to == "ops@example.org");
  CHECK(f.mailer.sent[0].subject == "[Pulse] queue queue/alice/q holds 25 messages");
  CHECK(f.outbox_attempts("alice@example.org") == 1);
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE_FALSE(lines.empty());
  CHECK(lines[0]["action"] == "queue warn");
  CHECK(lines[0]["detail"].get<std::string>().find(
            "mail to alice@example.org, ops@example.org queued") != std::string::npos);
  // The one rejected is dropped after its tries; the other was not sent again.
  guardian.run_once();
  CHECK(f.store->outbox(100).empty());
  CHECK(f.mailer.tries_to("alice@example.org") == 2);
  CHECK(f.mailer.tries_to("ops@example.org") == 1);
}

TEST_CASE("guardian: an account without owners is not mailed, and its audit line says so") {
  Fixture f;
  // Imported from RabbitMQ with its own password hash, no owner yet.
  f.cli->import_users({ImportedUser{
      "legacy",
      {},
      {"/"},
      Credential{CredentialScheme::rabbit_sha256, std::vector<std::uint8_t>(36, 7)}}});
  f.broker.queue_list = {queue("queue/legacy/q", 25)};
  f.guardian().run_once();
  CHECK(f.mailer.tried.empty());
  CHECK(f.store->outbox(100).empty());
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["action"] == "queue warn");
  CHECK(lines[0]["user"] == "legacy");
  CHECK(lines[0]["detail"].get<std::string>().find("not mailed: the account has no owner") !=
        std::string::npos);
  REQUIRE(f.store->queue_notices().size() == 1);  // warned, once

  // A queue of a name authsvc has no account of: nobody to mail either,
  // and the line says why.
  f.broker.queue_list = {queue("queue/ghost/q", 25)};
  f.guardian().run_once();
  CHECK(f.mailer.tried.empty());
  lines = f.audit_lines();
  REQUIRE(lines.size() == 3);  // and the gone queue's notice forgotten, last
  CHECK(lines[1]["action"] == "queue warn");
  CHECK(lines[1]["user"] == "ghost");
  CHECK(lines[1]["detail"].get<std::string>().find(
            "not mailed: authsvc has no account of that name") != std::string::npos);
}

TEST_CASE("guardian: an expiry notice goes to every owner once, across restarts, and is audited") {
  Fixture f;
  f.cli->add_owner("alice", "ops@example.org");
  UserUpdate expires;
  // In 12 hours: the 7-day and the 1-day notices are both due; one goes.
  expires.expires_at = rfc3339_utc(f.now + std::chrono::hours(12));
  f.cli->update_user("alice", expires);
  f.guardian(f.clocked()).run_once();
  REQUIRE(f.mailer.sent.size() == 2);
  std::set<std::string> to = {f.mailer.sent[0].to, f.mailer.sent[1].to};
  CHECK(to == std::set<std::string>{"alice@example.org", "ops@example.org"});
  CHECK(f.mailer.sent[0].subject.rfind("[Pulse] account alice expires in 12 hours, on ", 0) == 0);
  CHECK(f.mailer.sent[0].body.find("the notice due 1d before the expiry") != std::string::npos);
  CHECK(f.cli->find_user("alice")->expiry_notice_lead == 86400);
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE_FALSE(lines.empty());
  CHECK(lines[0]["action"] == "expiry notice");
  CHECK(lines[0]["user"] == "alice");
  CHECK(lines[0]["detail"] == "expires_at=" + *expires.expires_at +
                                  " notice=1d before; mail to alice@example.org, "
                                  "ops@example.org queued");

  // A restart, and later: no second notice for this expiry.
  f.now += std::chrono::hours(6);
  CHECK(f.guardian(f.clocked()).run_once().empty());
  CHECK(f.mailer.sent.size() == 2);

  // Renewed: the new expiry's notices start over, the 7-day one first.
  expires.expires_at = rfc3339_utc(f.now + std::chrono::days(3));
  f.cli->update_user("alice", expires);
  f.guardian(f.clocked()).run_once();
  REQUIRE(f.mailer.sent.size() == 4);
  CHECK(f.mailer.sent[2].body.find("the notice due 7d before the expiry") != std::string::npos);
}

TEST_CASE(
    "guardian: --expiry-notice leads are the guardian's, and an account without owners "
    "gets its notice recorded, not mailed") {
  Fixture f;
  f.cli->import_users({ImportedUser{
      "legacy",
      {},
      {"/"},
      Credential{CredentialScheme::rabbit_sha256, std::vector<std::uint8_t>(36, 7)}}});
  UserUpdate expires;
  expires.expires_at = rfc3339_utc(f.now + std::chrono::hours(3));
  f.cli->update_user("legacy", expires);
  f.cli->update_user("alice", expires);
  GuardianOptions options = f.clocked();
  options.expiry_notice_leads = {std::chrono::hours(2)};
  CHECK(f.guardian(options).run_once().empty());  // not due yet
  f.now += std::chrono::hours(1);
  CHECK(f.guardian(options).run_once().size() == 2);
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].to == "alice@example.org");
  CHECK(f.mailer.sent[0].body.find("the notice due 2h before the expiry") != std::string::npos);
  bool said = false;
  for (const nlohmann::json& line : f.audit_lines()) {
    if (line["action"] == "expiry notice" && line["user"] == "legacy") {
      said = line["detail"].get<std::string>().find("not mailed: the account has no owner") !=
             std::string::npos;
    }
  }
  CHECK(said);
  CHECK(f.guardian(options).run_once().empty());  // recorded: once
}

TEST_CASE("guardian: an expired account's connections are closed at the first look after") {
  Fixture f;
  f.add_user("bob");
  UserUpdate expires;
  expires.expires_at = rfc3339_utc(f.now + std::chrono::minutes(5));
  f.cli->update_user("alice", expires);
  const std::int64_t opened = f.issued_ms("alice") + 1000;
  f.broker.connection_list = {connection("alice-1", "alice"), connection("bob-1", "bob")};
  f.broker.connection_list[0].connected_at_ms = opened;
  f.broker.connection_list[1].connected_at_ms = f.issued_ms("bob") + 1000;
  GuardianOptions options = f.clocked();
  options.expiry_notice_leads = {};
  Guardian guardian = f.guardian(options);
  guardian.run_once();
  CHECK(f.broker.removals.empty());
  f.now += std::chrono::minutes(5);
  guardian.run_once();
  CHECK(f.broker.removals ==
        std::vector<std::string>{"close connection 'alice-1' (authsvc: the account alice "
                                 "expired at " +
                                 *expires.expires_at + ")"});
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["action"] == "connection close");
  CHECK(lines[0]["user"] == "alice");
  CHECK(lines[0]["detail"].get<std::string>().find("expired at") != std::string::npos);
}

TEST_CASE("guardian: at the end of a rotation's grace the connections opened before it close") {
  Fixture f;
  // A connection opened in the millisecond between alice's first token and
  // its rotation: the clock must have moved on between the two.
  const std::int64_t first_issued = f.issued_ms("alice");
  CHECK(testing::eventually([&] {
    return rfc3339_to_unix_ms(rfc3339_utc(std::chrono::system_clock::now())) > first_issued + 1;
  }));
  testing::record_issued_token(f.cli->rotate_token("alice", std::chrono::seconds(20)));
  std::optional<UserInfo> alice = f.cli->find_user("alice");
  REQUIRE(alice);
  const std::int64_t rotated = rfc3339_to_unix_ms(alice->credential_issued_at).value();
  const std::int64_t grace_end = rfc3339_to_unix_ms(alice->previous_valid_until).value();
  CHECK(grace_end == rotated + 20000);
  f.broker.connection_list = {connection("old", "alice"), connection("new", "alice")};
  f.broker.connection_list[0].connected_at_ms = rotated - 1;
  f.broker.connection_list[1].connected_at_ms = rotated + 1;
  GuardianOptions options = f.clocked();
  Guardian guardian = f.guardian(options);
  f.now = std::chrono::system_clock::time_point(std::chrono::milliseconds(grace_end - 1));
  guardian.run_once();
  CHECK(f.broker.removals.empty());  // during the grace: both stay
  f.now = std::chrono::system_clock::time_point(std::chrono::milliseconds(grace_end));
  guardian.run_once();
  CHECK(f.broker.removals ==
        std::vector<std::string>{"close connection 'old' (authsvc: the grace of the previous "
                                 "credential of user alice ended at " +
                                 alice->previous_valid_until + ")"});
  REQUIRE(f.audit_lines().size() == 1);
  CHECK(f.audit_lines()[0]["detail"].get<std::string>().find("grace") != std::string::npos);
}

TEST_CASE("guardian: a dry run says an expiry notice once, and records and sends nothing") {
  Fixture f;
  UserUpdate expires;
  expires.expires_at = rfc3339_utc(f.now + std::chrono::hours(12));
  f.cli->update_user("alice", expires);
  Guardian guardian = f.guardian(f.clocked(true));
  std::vector<GuardianAction> first = guardian.run_once();
  REQUIRE(first.size() == 1);
  CHECK(first[0].kind == GuardianAction::Kind::expiry_notice);
  CHECK(guardian.run_once().empty());
  CHECK(f.mailer.sent.empty());
  CHECK(f.store->outbox(100).empty());
  CHECK_FALSE(f.cli->find_user("alice")->expiry_notice_lead);
  CHECK(f.audit_lines().empty());
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("guardian: of two guardians on one store, only the lead's acts and mails") {
  Fixture f;
  bool a_leads = true;
  GuardianOptions a_options = Fixture::options();
  a_options.lead = [&] { return a_leads; };
  GuardianOptions b_options = Fixture::options();
  b_options.lead = [&] { return !a_leads; };
  Guardian a = f.guardian(a_options);
  Guardian b = f.guardian(b_options);
  CHECK_FALSE(a.figures().leading.load());  // none until it asks
  f.broker.queue_list = {queue("queue/alice/q1", 25)};
  CHECK(b.run_once().empty());  // standing by: not even a look
  CHECK(b.figures().ok_looks.load() == 0);
  CHECK_FALSE(b.figures().leading.load());
  CHECK(a.run_once().size() == 1);
  CHECK(a.figures().leading.load());
  CHECK(a.figures().leads_taken.load() == 1);
  CHECK(b.run_once().empty());
  REQUIRE(f.mailer.sent.size() == 1);

  // The lead passes: b goes on from the store, a stands by.
  a_leads = false;
  CHECK(a.run_once().empty());
  CHECK_FALSE(a.figures().leading.load());
  CHECK(b.run_once().empty());  // q1 was warned: nothing to do
  CHECK(b.figures().leading.load());
  CHECK(f.mailer.sent.size() == 1);
  f.broker.queue_list.push_back(queue("queue/alice/q2", 30));
  CHECK(a.run_once().empty());
  CHECK(b.run_once().size() == 1);
  REQUIRE(f.mailer.sent.size() == 2);
  CHECK(f.mailer.sent[1].subject == "[Pulse] queue queue/alice/q2 holds 30 messages");
  CHECK(a.run_once().empty());
  CHECK(b.run_once().empty());
  CHECK(f.mailer.sent.size() == 2);
}

TEST_CASE("guardian: one that loses the lead mid-look stops before its next action and mail") {
  Fixture f;
  f.broker.queue_list = {queue("queue/alice/q1", 25), queue("queue/alice/q2", 30)};
  int asked = 0;
  GuardianOptions losing = Fixture::options();
  // Held for the look and its first action, lost before the second.
  losing.lead = [&] { return ++asked <= 2; };
  Guardian a = f.guardian(losing);
  CHECK(a.run_once().size() == 1);
  CHECK(asked == 3);
  CHECK_FALSE(a.figures().leading.load());
  CHECK(f.mailer.sent.empty());  // its warning's mail is in the outbox
  CHECK(f.store->outbox(100).size() == 1);

  // The next holder sends that mail and warns the other queue: each once.
  GuardianOptions holding = Fixture::options();
  holding.lead = [] { return true; };
  Guardian b = f.guardian(holding);
  CHECK(b.run_once().size() == 1);
  REQUIRE(f.mailer.sent.size() == 2);
  std::set<std::string> subjects{f.mailer.sent[0].subject, f.mailer.sent[1].subject};
  CHECK(subjects == std::set<std::string>{"[Pulse] queue queue/alice/q1 holds 25 messages",
                                          "[Pulse] queue queue/alice/q2 holds 30 messages"});
  CHECK(b.run_once().empty());
  CHECK(f.mailer.sent.size() == 2);
  CHECK(f.store->outbox(100).empty());
}

TEST_CASE("guardian: one that loses the lead while mailing leaves the rest to the next holder") {
  Fixture f;
  f.add_user("bob");
  f.broker.queue_list = {queue("queue/alice/q", 25), queue("queue/bob/q", 25)};
  int asked = 0;
  GuardianOptions losing = Fixture::options();
  // The look, its two actions and the first mail; lost before the second.
  losing.lead = [&] { return ++asked <= 4; };
  Guardian a = f.guardian(losing);
  CHECK(a.run_once().size() == 2);
  CHECK(f.mailer.sent.size() == 1);
  CHECK(f.store->outbox(100).size() == 1);
  GuardianOptions holding = Fixture::options();
  holding.lead = [] { return true; };
  Guardian b = f.guardian(holding);
  CHECK(b.run_once().empty());
  REQUIRE(f.mailer.sent.size() == 2);
  CHECK(f.mailer.sent[0].to != f.mailer.sent[1].to);
  CHECK(f.store->outbox(100).empty());
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("guardian: the look after one that failed first reopens the store, and only then") {
  Fixture f;
  f.broker.unreachable = true;
  int reopens = 0;  // written on the loop's thread, read after it ended
  GuardianOptions options = Fixture::options();
  options.interval = std::chrono::milliseconds(10);
  // As a lost PostgreSQL connection is mended by a reopen: the broker
  // answers again once the store has been reopened.
  options.reopen_store = [&] {
    ++reopens;
    f.broker.unreachable = false;
  };
  Guardian guardian = f.guardian(options);
  std::thread loop([&] { guardian.run(); });
  // Several good looks after the failed one: none of them reopens again.
  bool looked = testing::eventually([&] { return guardian.figures().ok_looks.load() >= 3; });
  guardian.stop();
  loop.join();
  CHECK(looked);
  CHECK(guardian.figures().failed_looks.load() == 1);
  CHECK(reopens == 1);
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE(
    "guardian: a failed look doubles the wait up to 5 minutes, a store still down waits the "
    "interval") {
  using std::chrono::milliseconds;
  const milliseconds interval(10000);
  CHECK(wait_after_failure(interval, interval, false) == milliseconds(20000));
  CHECK(wait_after_failure(milliseconds(160000), interval, false) == milliseconds(300000));
  CHECK(wait_after_failure(milliseconds(300000), interval, false) == milliseconds(300000));
  // After minutes of backing off, a database that is still down does not
  // keep the guardian away for minutes once it is back.
  CHECK(wait_after_failure(milliseconds(300000), interval, true) == interval);
  CHECK(wait_after_failure(interval, interval, true) == interval);
}

TEST_CASE("guardian: a store that cannot be reopened is tried again until it can, then looks") {
  Fixture f;
  f.broker.unreachable = true;
  std::atomic<int> reopens = 0;
  GuardianOptions options = Fixture::options();
  options.interval = std::chrono::milliseconds(10);
  // The database is down for five attempts, then back.
  options.reopen_store = [&] {
    if (++reopens <= 5) throw std::runtime_error("the database is down");
    f.broker.unreachable = false;
  };
  Guardian guardian = f.guardian(options);
  std::thread loop([&] { guardian.run(); });
  bool looked = testing::eventually([&] { return guardian.figures().ok_looks.load() >= 1; });
  guardian.stop();
  loop.join();
  CHECK(looked);
  // The look that failed, then one failure for each reopen refused.
  CHECK(guardian.figures().failed_looks.load() == 6);
  CHECK(reopens.load() == 6);
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("guardian: cap mode holds a queue at its threshold, mails once, lifts the cap later") {
  Fixture f;
  GuardianOptions o = Fixture::options();
  o.limits.over_limit = OverLimit::cap;
  QueueInfo big = queue("queue/alice/big", 60);
  big.operator_policy = "ttl-everywhere";  // the operator's own: kept under the cap
  f.broker.queue_list = {big};
  Guardian guardian = f.guardian(o);
  guardian.run_once();
  CHECK(f.broker.removals ==
        std::vector<std::string>{"cap queue '/' 'queue/alice/big' at 50 over 'ttl-everywhere'"});
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].subject == "[Pulse] queue queue/alice/big is capped at 50 messages");
  std::vector<QueueNotice> notices = f.store->queue_notices();
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].state == QueueNoticeState::capped);
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 2);  // the cap, the mail
  CHECK(lines[0]["action"] == "queue cap");
  CHECK(lines[0]["detail"] ==
        "vhost='/' queue='queue/alice/big' messages=60 max_length=50 policy='" +
            cap_policy_name("/", "queue/alice/big") + "'; mail to alice@example.org queued");

  // Held there (the fake applies the policy to its listing): nothing more.
  f.broker.queue_list[0].messages = 50;
  guardian.run_once();
  CHECK(f.broker.removals.size() == 1);
  CHECK(f.mailer.sent.size() == 1);

  // Someone cleared the policy: applied again, without a second mail.
  f.broker.queue_list[0].capped_by_guardian = false;
  guardian.run_once();
  REQUIRE(f.broker.removals.size() == 2);
  CHECK(f.broker.removals[1] == "cap queue '/' 'queue/alice/big' at 50 over 'ttl-everywhere'");
  CHECK(f.mailer.sent.size() == 1);

  // Drained under the warning threshold: lifted, mailed, forgotten.
  f.broker.queue_list[0].messages = 25;
  f.broker.queue_list[0].messages_ready = 5;
  guardian.run_once();
  REQUIRE(f.broker.removals.size() == 3);
  CHECK(f.broker.removals[2] == "uncap queue '/' 'queue/alice/big'");
  REQUIRE(f.mailer.sent.size() == 2);
  CHECK(f.mailer.sent[1].subject == "[Pulse] the cap on queue queue/alice/big is lifted");
  CHECK(f.store->queue_notices().empty());
  CHECK_FALSE(f.broker.queue_list[0].capped_by_guardian);
}

TEST_CASE("guardian: a cap the broker refuses is recorded, mailed once, applied at the next look") {
  Fixture f;
  GuardianOptions o = Fixture::options();
  o.limits.over_limit = OverLimit::cap;
  f.broker.queue_list = {queue("queue/alice/big", 60)};
  f.broker.refuse_removals = true;
  Guardian guardian = f.guardian(o);
  guardian.run_once();
  CHECK(guardian.figures().action_failures.load() == 1);
  CHECK(f.store->queue_notices().at(0).state == QueueNoticeState::capped);
  CHECK(f.mailer.sent.size() == 1);
  f.broker.refuse_removals = false;
  guardian.run_once();
  CHECK(f.broker.removals.size() == 2);
  CHECK(f.broker.queue_list[0].capped_by_guardian);
  CHECK(f.mailer.sent.size() == 1);
  // Gone while capped: the policy goes, no mail.
  f.broker.queue_list.clear();
  guardian.run_once();
  CHECK(f.broker.removals.back() == "uncap queue '/' 'queue/alice/big'");
  CHECK(f.store->queue_notices().empty());
  CHECK(f.mailer.sent.size() == 1);
}

TEST_CASE("guardian: a deleted queue declared again is mailed once, not while the listing lags") {
  Fixture f;
  GuardianOptions o = Fixture::options();
  f.broker.queue_list = {queue("queue/alice/big", 60)};
  {
    // An hour between looks: the listing that still shows the queue at the
    // next one is taken for its lag.
    o.interval = std::chrono::hours(1);
    Guardian guardian = f.guardian(o);
    guardian.run_once();
    REQUIRE(f.store->deleted_queues().size() == 1);
    f.broker.gone = true;
    guardian.run_once();
    CHECK(f.mailer.sent.size() == 1);
    CHECK(f.store->deleted_queues().size() == 1);
  }
  // The queue as declared again (empty), seen after the interval.
  f.broker.queue_list = {queue("queue/alice/big", 0)};
  o.interval = std::chrono::milliseconds(0);
  Guardian guardian = f.guardian(o);
  guardian.run_once();
  REQUIRE(f.mailer.sent.size() == 2);
  CHECK(f.mailer.sent[1].subject.starts_with("[Pulse] queue queue/alice/big was deleted on "));
  CHECK(f.mailer.sent[1].subject.ends_with(" and declared again"));
  CHECK(f.store->deleted_queues().empty());
  guardian.run_once();
  CHECK(f.mailer.sent.size() == 2);
  std::vector<nlohmann::json> lines = f.audit_lines();
  CHECK(std::count_if(lines.begin(), lines.end(), [](const nlohmann::json& l) {
          return l["action"] == "queue recreated";
        }) == 1);
}

TEST_CASE("guardian: an orphaned queue is mailed once, after orphan_after, across restarts") {
  Fixture f;
  GuardianOptions o = f.clocked();
  o.orphan_after = std::chrono::hours(24);
  QueueInfo idle = queue("queue/alice/idle", 3);
  idle.consumers = 0;
  f.broker.queue_list = {idle};
  f.guardian(o).run_once();
  std::vector<IdleQueue> recorded = f.store->idle_queues();
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].idle_since == rfc3339_utc(f.now));
  CHECK(f.mailer.sent.empty());
  CHECK(f.audit_lines().empty());  // bookkeeping, not an event

  f.now += std::chrono::hours(24) - std::chrono::seconds(1);
  f.guardian(o).run_once();
  CHECK(f.mailer.sent.empty());
  f.now += std::chrono::seconds(1);
  f.guardian(o).run_once();  // a restarted guardian: the time was kept
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].subject == "[Pulse] queue queue/alice/idle has had no consumer since " +
                                        recorded[0].idle_since.substr(0, 10) + " " +
                                        recorded[0].idle_since.substr(11, 8) + " UTC");
  f.now += std::chrono::hours(48);
  f.guardian(o).run_once();
  CHECK(f.mailer.sent.size() == 1);

  // A consumer again, then none: a new stretch, a new notice in time.
  f.broker.queue_list[0].consumers = 1;
  f.guardian(o).run_once();
  CHECK(f.store->idle_queues().empty());
  f.broker.queue_list[0].consumers = 0;
  f.guardian(o).run_once();
  CHECK(f.store->idle_queues().at(0).idle_since == rfc3339_utc(f.now));
  CHECK(f.mailer.sent.size() == 1);
}

}  // namespace authsvc
