#include "authsvc/core/decision.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace authsvc {
namespace {

UserRecord user(const std::string& name, const std::string& token, bool active = true,
                std::vector<std::string> vhosts = {"/"}, std::string tags = "") {
  UserRecord u;
  u.name = name;
  u.credential = token_credential(token);
  u.active = active;
  u.vhosts = std::move(vhosts);
  u.tags = std::move(tags);
  return u;
}

Snapshot pulse_snapshot() {
  std::vector<UserRecord> users;
  users.push_back(user("alice", "alice-token"));
  users.push_back(user("bob", "bob-token", true, {"/", "staging"}, "monitoring"));
  users.push_back(user("a.b", "ab-token"));
  users.push_back(user("aXb", "axb-token"));
  users.push_back(user("eve", "eve-token", false));
  return Snapshot(std::move(users), std::make_shared<const Rules>(Rules::pulse_default()));
}

AuthRequest resource(const std::string& username, ResourceKind kind, const std::string& name,
                     Permission permission, const std::string& vhost = "/") {
  AuthRequest r;
  r.endpoint = kind == ResourceKind::topic ? Endpoint::topic : Endpoint::resource;
  r.username = username;
  r.vhost = vhost;
  r.resource = kind;
  r.name = name;
  r.permission = permission;
  if (kind == ResourceKind::topic) r.routing_key = "a.b.c";
  return r;
}

AuthRequest login(const std::string& username, std::optional<std::string> password) {
  AuthRequest r;
  r.endpoint = Endpoint::user;
  r.username = username;
  r.password = std::move(password);
  return r;
}

AuthRequest vhost(const std::string& username, const std::string& vhost_name) {
  AuthRequest r;
  r.endpoint = Endpoint::vhost;
  r.username = username;
  r.vhost = vhost_name;
  return r;
}

constexpr Permission kAll[] = {Permission::configure, Permission::write, Permission::read};

// A fixed "now" for the tests that are not about time.
const std::chrono::system_clock::time_point kNow =
    std::chrono::sys_days(std::chrono::year(2026) / 11 / 30) + std::chrono::hours(12);

Decision decide(const AuthRequest& request, const Snapshot& snapshot) {
  return authsvc::decide(request, snapshot, kNow);
}

// RabbitMQ's stored form of `password` with `salt`: what a definitions file
// holds, made here with the same recipe as rabbit_password_hashing_sha256.
Credential rabbit_sha256(const std::string& password, const std::string& salt = "salt") {
  Credential c = token_credential(salt + password);  // SHA-256 of salt + password
  c.hash.insert(c.hash.begin(), salt.begin(), salt.end());
  c.scheme = CredentialScheme::rabbit_sha256;
  return c;
}

}  // namespace

TEST_CASE("an imported RabbitMQ password logs in like a token, and says so") {
  UserRecord legacy = user("carol", "unused");
  legacy.credential = rabbit_sha256("correct horse");
  Snapshot snapshot({legacy}, std::make_shared<const Rules>(Rules::pulse_default()));
  Decision d = decide(login("carol", "correct horse"), snapshot);
  CHECK(d.allow);
  CHECK(d.credential == "current");
  CHECK(d.reason == "imported password accepted");
  CHECK_FALSE(decide(login("carol", "correct horsf"), snapshot).allow);
  CHECK_FALSE(decide(login("carol", ""), snapshot).allow);
  // The hash itself is not the password.
  std::string stored(legacy.credential.hash.begin(), legacy.credential.hash.end());
  CHECK_FALSE(decide(login("carol", stored), snapshot).allow);
}

TEST_CASE("during a grace both credentials log in, each named, and after it only the new one") {
  UserRecord u = user("alice", "new-token");
  u.previous = token_credential("old-token");
  u.previous_valid_until = kNow + std::chrono::minutes(5);
  Snapshot snapshot({u}, std::make_shared<const Rules>(Rules::pulse_default()));
  auto at = [&](std::chrono::system_clock::time_point t, const char* token) {
    return authsvc::decide(login("alice", token), snapshot, t);
  };
  CHECK(at(kNow, "new-token").credential == "current");
  Decision old = at(kNow, "old-token");
  CHECK(old.allow);
  CHECK(old.credential == "previous");
  // The grace ends at its instant: a millisecond before, still in.
  CHECK(at(u.previous_valid_until - std::chrono::milliseconds(1), "old-token").allow);
  Decision after = at(u.previous_valid_until, "old-token");
  CHECK_FALSE(after.allow);
  CHECK(after.rule == "login");
  CHECK(after.reason == "the previous credential's grace has ended");
  CHECK(after.credential.empty());
  CHECK(at(u.previous_valid_until + std::chrono::hours(1), "new-token").allow);
  CHECK_FALSE(at(kNow, "neither-token").allow);
}

TEST_CASE("an expired account neither logs in nor is allowed anything, from its instant on") {
  UserRecord u = user("alice", "alice-token");
  u.expires_at = kNow;
  Snapshot snapshot({u}, std::make_shared<const Rules>(Rules::pulse_default()));
  auto before = kNow - std::chrono::milliseconds(1);
  CHECK(authsvc::decide(login("alice", "alice-token"), snapshot, before).allow);
  CHECK(authsvc::decide(vhost("alice", "/"), snapshot, before).allow);
  const AuthRequest asks[] = {
      login("alice", "alice-token"),
      vhost("alice", "/"),
      resource("alice", ResourceKind::queue, "queue/alice/q", Permission::read),
      resource("alice", ResourceKind::topic, "exchange/alice/x", Permission::write),
  };
  for (const AuthRequest& ask : asks) {
    Decision d = authsvc::decide(ask, snapshot, kNow);
    CHECK_FALSE(d.allow);
    CHECK(d.rule == "expired-user");
  }
  // A wrong token for an expired account says expired too: the answer is
  // the same whatever the token, so it tells a guesser nothing.
  CHECK(authsvc::decide(login("alice", "wrong"), snapshot, kNow).rule == "expired-user");
}

// design.md's policy table, row by row, for a user acting on its own
// resources and on the other user's, in both directions.
TEST_CASE("the Pulse policy table holds for two users, both ways round") {
  Snapshot snapshot = pulse_snapshot();
  const std::pair<std::string, std::string> pairs[] = {{"alice", "bob"}, {"bob", "alice"}};
  for (const auto& [self, other] : pairs) {
    CAPTURE(self);
    auto allowed = [&](ResourceKind kind, const std::string& name, Permission p) {
      CAPTURE(name);
      CAPTURE(to_string(p));
      return decide(resource(self, kind, name, p), snapshot).allow;
    };
    const std::string own_exchange = "exchange/" + self + "/builds";
    const std::string other_exchange = "exchange/" + other + "/builds";
    const std::string own_queue = "queue/" + self + "/q";
    const std::string other_queue = "queue/" + other + "/q";

    // exchange/<user>/... (own): configure, write, read
    for (Permission p : kAll) CHECK(allowed(ResourceKind::exchange, own_exchange, p));
    // exchange/<other>/...: only read (bind a queue to it)
    CHECK_FALSE(allowed(ResourceKind::exchange, other_exchange, Permission::configure));
    CHECK_FALSE(allowed(ResourceKind::exchange, other_exchange, Permission::write));
    CHECK(allowed(ResourceKind::exchange, other_exchange, Permission::read));
    // any other exchange: nothing
    for (const std::string& name : std::vector<std::string>{
             "amq.default", "amq.topic", "amq.direct", "amq.fanout", "amq.headers", "amq.match",
             "amq.rabbitmq.trace", "builds", "", "exchange", "exchange/", "exchange/" + self}) {
      for (Permission p : kAll) CHECK_FALSE(allowed(ResourceKind::exchange, name, p));
    }
    // queue/<user>/... (own): configure, write (bind), read (consume)
    for (Permission p : kAll) CHECK(allowed(ResourceKind::queue, own_queue, p));
    // any other queue: nothing
    for (const std::string& name :
         std::vector<std::string>{other_queue, "amq.gen-Ahc-cFHYBbOGBUhX4d7L5A", "q",
                                  "queue/" + self, "queue/" + self + "/"}) {
      for (Permission p : kAll) CHECK_FALSE(allowed(ResourceKind::queue, name, p));
    }
    // kind confusion, even under one's own name
    for (Permission p : kAll) {
      CHECK_FALSE(allowed(ResourceKind::queue, "exchange/" + self + "/x", p));
      CHECK_FALSE(allowed(ResourceKind::exchange, "queue/" + self + "/x", p));
    }
    // topic: write on own exchanges, read on any exchange/...
    CHECK(allowed(ResourceKind::topic, own_exchange, Permission::write));
    CHECK_FALSE(allowed(ResourceKind::topic, other_exchange, Permission::write));
    CHECK(allowed(ResourceKind::topic, own_exchange, Permission::read));
    CHECK(allowed(ResourceKind::topic, other_exchange, Permission::read));
    CHECK_FALSE(allowed(ResourceKind::topic, "amq.topic", Permission::read));
    CHECK_FALSE(allowed(ResourceKind::topic, "amq.topic", Permission::write));
    // vhost: "/" for every active user
    CHECK(decide(vhost(self, "/"), snapshot).allow);
  }
}

TEST_CASE("denials name the rule and the reason") {
  Snapshot snapshot = pulse_snapshot();
  Decision d =
      decide(resource("bob", ResourceKind::queue, "amq.gen-xyz", Permission::configure), snapshot);
  CHECK_FALSE(d.allow);
  CHECK(d.rule == "system-queue");
  CHECK(d.reason.find("denied by rule system-queue (line ") == 0);

  d = decide(resource("bob", ResourceKind::queue, "exchange/bob/x", Permission::configure),
             snapshot);
  CHECK(d.rule == "queue-named-exchange");
  d = decide(resource("bob", ResourceKind::exchange, "queue/bob/x", Permission::configure),
             snapshot);
  CHECK(d.rule == "exchange-named-queue");
  d = decide(resource("bob", ResourceKind::exchange, "exchange/alice/v1", Permission::write),
             snapshot);
  CHECK(d.rule == "default-deny");
  CHECK(d.reason == "no rule allows this");
  d = decide(resource("bob", ResourceKind::exchange, "exchange/bob/v1", Permission::write),
             snapshot);
  CHECK(d.allow);
  CHECK(d.rule == "own-exchange");
}

TEST_CASE("a user name with regex characters gets nothing of a look-alike") {
  Snapshot snapshot = pulse_snapshot();
  for (Permission p : {Permission::configure, Permission::write}) {
    CHECK_FALSE(
        decide(resource("a.b", ResourceKind::exchange, "exchange/aXb/v1", p), snapshot).allow);
  }
  for (Permission p : kAll) {
    CHECK_FALSE(decide(resource("a.b", ResourceKind::queue, "queue/aXb/q", p), snapshot).allow);
    CHECK(decide(resource("a.b", ResourceKind::exchange, "exchange/a.b/v1", p), snapshot).allow);
    CHECK(decide(resource("aXb", ResourceKind::queue, "queue/aXb/q", p), snapshot).allow);
    CHECK_FALSE(decide(resource("aXb", ResourceKind::queue, "queue/a.b/q", p), snapshot).allow);
  }
  CHECK_FALSE(
      decide(resource("a.b", ResourceKind::topic, "exchange/aXb/v1", Permission::write), snapshot)
          .allow);
}

TEST_CASE("login checks the token, the user and its status") {
  Snapshot snapshot = pulse_snapshot();
  Decision d = decide(login("alice", "alice-token"), snapshot);
  CHECK(d.allow);
  CHECK(d.tags.empty());
  d = decide(login("bob", "bob-token"), snapshot);
  CHECK(d.allow);
  CHECK(d.tags == "monitoring");

  CHECK(decide(login("alice", "bob-token"), snapshot).rule == "login");
  CHECK_FALSE(decide(login("alice", "bob-token"), snapshot).allow);
  CHECK_FALSE(decide(login("alice", "alice-token\n"), snapshot).allow);
  CHECK_FALSE(decide(login("alice", ""), snapshot).allow);
  CHECK_FALSE(decide(login("alice", std::nullopt), snapshot).allow);
  CHECK_FALSE(decide(login("mallory", "alice-token"), snapshot).allow);
  CHECK(decide(login("mallory", "x"), snapshot).rule == "unknown-user");
  Decision disabled = decide(login("eve", "eve-token"), snapshot);
  CHECK_FALSE(disabled.allow);
  CHECK(disabled.rule == "disabled-user");
}

TEST_CASE("no reason ever contains the password") {
  Snapshot snapshot = pulse_snapshot();
  for (const auto& [name, password] :
       std::vector<std::pair<std::string, std::string>>{{"alice", "alice-token"},
                                                        {"alice", "wrong-secret"},
                                                        {"eve", "eve-token"},
                                                        {"nobody", "nobody-secret"}}) {
    Decision d = decide(login(name, password), snapshot);
    CHECK(d.reason.find(password) == std::string::npos);
    CHECK(d.rule.find(password) == std::string::npos);
  }
}

TEST_CASE("vhosts need a grant, and unknown and disabled users get nothing") {
  Snapshot snapshot = pulse_snapshot();
  CHECK(decide(vhost("bob", "staging"), snapshot).allow);
  Decision d = decide(vhost("alice", "staging"), snapshot);
  CHECK_FALSE(d.allow);
  CHECK(d.rule == "no-vhost-grant");
  // Resources in a vhost without a grant are refused too.
  CHECK_FALSE(decide(resource("alice", ResourceKind::exchange, "exchange/alice/x",
                              Permission::configure, "staging"),
                     snapshot)
                  .allow);
  CHECK(decide(resource("bob", ResourceKind::exchange, "exchange/bob/x", Permission::configure,
                        "staging"),
               snapshot)
            .allow);

  CHECK(decide(vhost("eve", "/"), snapshot).rule == "disabled-user");
  CHECK(decide(vhost("nobody", "/"), snapshot).rule == "unknown-user");
  for (Permission p : kAll) {
    CHECK(decide(resource("eve", ResourceKind::exchange, "exchange/eve/x", p), snapshot).rule ==
          "disabled-user");
    CHECK(decide(resource("nobody", ResourceKind::queue, "queue/nobody/x", p), snapshot).rule ==
          "unknown-user");
  }
}

TEST_CASE("a custom rules file with {vhost} and deny-before-allow") {
  std::string error;
  std::optional<Rules> rules = Rules::parse(
      "no-secret   deny   queue  *     queue/{user}/secret\n"
      "own         allow  queue  *     queue/{user}/.+\n"
      "per-vhost   allow  exchange read  {vhost}/.+\n",
      "test.rules", &error);
  REQUIRE_MESSAGE(rules, error);
  std::vector<UserRecord> users;
  users.push_back(user("alice", "t", true, {"/", "v1"}));
  Snapshot snapshot(std::move(users), std::make_shared<const Rules>(std::move(*rules)));
  CHECK(decide(resource("alice", ResourceKind::queue, "queue/alice/q", Permission::read), snapshot)
            .allow);
  Decision d = decide(
      resource("alice", ResourceKind::queue, "queue/alice/secret", Permission::read), snapshot);
  CHECK_FALSE(d.allow);
  CHECK(d.rule == "no-secret");
  CHECK(decide(resource("alice", ResourceKind::exchange, "v1/x", Permission::read, "v1"), snapshot)
            .allow);
  CHECK_FALSE(
      decide(resource("alice", ResourceKind::exchange, "v1/x", Permission::read, "/"), snapshot)
          .allow);
}

}  // namespace authsvc
