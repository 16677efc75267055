// The guardian carrying out its plan: against an in-memory broker and a
// fake mailer, with a real store and audit sink. The management API's own
// HTTP is in management_api_test.cc; a real broker in
// tests/e2e/guardian_e2e.py.
#include "authsvc/guardian/guardian.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/test_support.h"

namespace authsvc {
namespace {

// The broker as the guardian sees it, in memory: the listings a test sets,
// and every removal the guardian asks for. A removal leaves the listings as
// they are, as the management API's listings lag a deletion; a test changes
// them itself.
class FakeBroker : public Broker {
 public:
  std::vector<QueueInfo> queue_list;
  std::vector<ExchangeInfo> exchange_list;
  std::vector<ConnectionInfo> connection_list;
  // Each removal asked for, answered or refused: "delete queue '/' 'NAME'",
  // "delete exchange '/' 'NAME'", "close connection 'NAME' (REASON)".
  std::vector<std::string> removals;
  bool unreachable = false;      // every call throws BrokerError
  bool refuse_removals = false;  // removals throw BrokerError; listings still answer
  bool gone = false;             // removals answer false: there was no such thing

  std::vector<QueueInfo> queues() override {
    answer();
    return queue_list;
  }
  std::vector<ExchangeInfo> exchanges() override {
    answer();
    return exchange_list;
  }
  std::vector<ConnectionInfo> connections() override {
    answer();
    return connection_list;
  }
  bool delete_queue(const std::string& vhost, const std::string& name) override {
    return remove("delete queue '" + vhost + "' '" + name + "'");
  }
  bool delete_exchange(const std::string& vhost, const std::string& name) override {
    return remove("delete exchange '" + vhost + "' '" + name + "'");
  }
  bool close_connection(const std::string& name, const std::string& reason) override {
    return remove("close connection '" + name + "' (" + reason + ")");
  }

 private:
  void answer() const {
    if (unreachable) throw BrokerError("fake broker: unreachable");
  }
  bool remove(std::string what) {
    answer();
    removals.push_back(std::move(what));
    if (refuse_removals) throw BrokerError("fake broker: refused");
    return !gone;
  }
};

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
  FakeBroker broker;
  FakeMailer mailer;
  testing::AuditLines audit;

  Fixture() { add_user("alice"); }
  void add_user(const std::string& name) {
    testing::record_issued_token(
        cli->add_user(NewUser{name, {name + "@example.org"}, {}, {"/"}, ""}));
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
        OutboxMail{0, to, "warning " + std::to_string(i), "body", 0});
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
      std::nullopt);
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

}  // namespace authsvc
