// The guardian carrying out its plan: against a fake management API (an
// HTTP server in the test) and a fake mailer, with a real store and audit
// log. The broker itself is in tests/e2e/guardian_e2e.py.
#include "authsvc/guardian.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/test_support.h"

namespace authsvc {
namespace {

// What the management API lists, and the DELETEs it received.
class FakeManagementApi {
 public:
  FakeManagementApi() {
    server_.Get("/api/(queues|exchanges|connections)", [this](const auto& req, auto& res) {
      std::lock_guard lock(mutex_);
      res.set_content(listings_[req.matches[1]].dump(), "application/json");
    });
    server_.Delete(".*", [this](const auto& req, auto& res) {
      std::lock_guard lock(mutex_);
      deletes_.push_back(req.target);  // as sent: path is decoded
      res.status = gone_ ? 404 : 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeManagementApi() {
    server_.stop();
    thread_.join();
  }
  ManagementOptions options() const {
    ManagementOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(port_);
    o.user = "guardian";
    o.password = "pw";
    return o;
  }
  void set(const std::string& listing, nlohmann::json items) {
    std::lock_guard lock(mutex_);
    listings_[listing] = std::move(items);
  }
  void answer_deletes_with_404(bool gone) {
    std::lock_guard lock(mutex_);
    gone_ = gone;
  }
  std::vector<std::string> deletes() {
    std::lock_guard lock(mutex_);
    return deletes_;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mutex_;
  std::map<std::string, nlohmann::json> listings_{{"queues", nlohmann::json::array()},
                                                  {"exchanges", nlohmann::json::array()},
                                                  {"connections", nlohmann::json::array()}};
  std::vector<std::string> deletes_;
  bool gone_ = false;
};

class FakeMailer : public Mailer {
 public:
  void send(const Mail& mail) override {
    if (down) throw MailError("connection refused");
    sent.push_back(mail);
  }
  bool down = false;
  std::vector<Mail> sent;
};

nlohmann::json queue(const std::string& name, int messages) {
  return {{"vhost", "/"}, {"name", name}, {"messages", messages}, {"durable", true}};
}

struct Fixture {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  Store cli{db, Actor{"cli", "tester"}, Store::Open::create_if_missing};
  Store store{db, Actor{"guardian", ""}};
  FakeManagementApi broker;
  ManagementApi api{broker.options()};
  FakeMailer mailer;
  std::unique_ptr<AuditLog> audit = std::make_unique<AuditLog>(dir.file("audit.log"));

  Fixture() { cli.add_user("alice", "alice@example.org", {}, {"/"}); }
  Guardian guardian(bool dry_run = false) {
    GuardianOptions options;
    options.limits = QueueLimits{20, 50};
    options.dry_run = dry_run;
    return Guardian(store, api, dry_run ? nullptr : &mailer, *audit, options);
  }
  std::vector<nlohmann::json> audit_lines() {
    audit->flush();
    std::vector<nlohmann::json> lines;
    for (const std::string& l : testing::lines_of(testing::read_file(dir.file("audit.log")))) {
      lines.push_back(nlohmann::json::parse(l));
    }
    return lines;
  }
};

}  // namespace

// Threads against each other (a fake broker's server thread, the audit log's writer): in ctest -L
// threaded, which scripts/sanitize.sh runs under ThreadSanitizer.
TEST_SUITE_BEGIN("threaded");

TEST_CASE("guardian: a warning is mailed once, across restarts, and audited") {
  Fixture f;
  f.broker.set("queues", {queue("queue/alice/q", 25)});
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
  CHECK(f.store.outbox().empty());
}

TEST_CASE("guardian: mail that cannot be sent stays in the outbox and goes out later, once") {
  Fixture f;
  f.mailer.down = true;
  f.broker.set("queues", {queue("queue/alice/q", 25)});
  Guardian guardian = f.guardian();
  guardian.run_once();
  CHECK(f.mailer.sent.empty());
  REQUIRE(f.store.outbox().size() == 1);
  CHECK(f.store.outbox()[0].attempts == 1);
  guardian.run_once();  // still down; the warning is not planned again
  CHECK(f.store.outbox().size() == 1);
  f.mailer.down = false;
  guardian.run_once();
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.store.outbox().empty());
  guardian.run_once();
  CHECK(f.mailer.sent.size() == 1);
}

TEST_CASE("guardian: a queue past the limit is deleted through the API, and its owner told") {
  Fixture f;
  f.broker.set("queues", {queue("queue/alice/big", 60)});
  Guardian guardian = f.guardian();
  guardian.run_once();
  CHECK(f.broker.deletes() == std::vector<std::string>{"/api/queues/%2F/queue%2Falice%2Fbig"});
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].subject == "[Pulse] queue queue/alice/big was deleted (60 messages)");
  CHECK(f.store.queue_notices().empty());

  // The listing still shows it a moment later: found gone, no second mail.
  f.broker.answer_deletes_with_404(true);
  guardian.run_once();
  CHECK(f.mailer.sent.size() == 1);
}

TEST_CASE("guardian: a deletion interrupted by a crash is finished and mailed after a restart") {
  Fixture f;
  // What a crash right after the DELETE leaves: the 'deleting' record.
  f.store.put_queue_notice(
      QueueNotice{ResourceKey{"/", "queue/alice/big"}, "alice", "deleting", 70, ""}, std::nullopt);
  f.guardian().run_once();  // the queue is no longer listed
  REQUIRE(f.mailer.sent.size() == 1);
  CHECK(f.mailer.sent[0].subject == "[Pulse] queue queue/alice/big was deleted (70 messages)");
  CHECK(f.store.queue_notices().empty());
  CHECK(f.broker.deletes().empty());
}

TEST_CASE("guardian: connections of a disabled user are closed with the reason") {
  Fixture f;
  f.cli.set_active("alice", false);
  f.broker.set("connections", {{{"name", "127.0.0.1:5000 -> 127.0.0.1:5672"},
                                {"user", "alice"},
                                {"vhost", "/"},
                                {"connected_at", 1}},
                               {{"name", "127.0.0.1:5001 -> 127.0.0.1:5672"},
                                {"user", "ops"},
                                {"vhost", "/"},
                                {"connected_at", 1}}});
  f.guardian().run_once();
  CHECK(f.broker.deletes() ==
        std::vector<std::string>{"/api/connections/127.0.0.1%3A5000%20-%3E%20127.0.0.1%3A5672"});
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["action"] == "connection close");
  CHECK(lines[0]["detail"].get<std::string>().find("user alice is disabled") != std::string::npos);
}

TEST_CASE("guardian: a dry run changes, deletes and sends nothing, and says each thing once") {
  Fixture f;
  f.broker.set("queues", {queue("queue/alice/big", 60), queue("queue/alice/q", 25)});
  Guardian guardian = f.guardian(true);
  CHECK(guardian.run_once().size() == 2);
  CHECK(guardian.run_once().size() == 1);  // the warning is remembered; the deletion is not made
  CHECK(f.broker.deletes().empty());
  CHECK(f.mailer.sent.empty());
  CHECK(f.store.queue_notices().empty());
  CHECK(f.store.outbox().empty());
  CHECK(f.audit_lines().empty());
}

TEST_CASE("guardian: an unreachable broker is an error of the look, not a crash") {
  Fixture f;
  ManagementOptions nowhere = f.broker.options();
  nowhere.url = "http://127.0.0.1:1";
  nowhere.timeout = std::chrono::seconds(2);
  ManagementApi api(nowhere);
  GuardianOptions options;
  Guardian guardian(f.store, api, &f.mailer, *f.audit, options);
  CHECK_THROWS_AS(guardian.run_once(), ManagementError);
}

TEST_SUITE_END();

}  // namespace authsvc
