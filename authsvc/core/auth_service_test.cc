#include "authsvc/core/auth_service.h"

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::lines_of;

UserRecord active_user(const std::string& name, const std::string& token,
                       const std::string& tags = "") {
  UserRecord u;
  u.name = name;
  u.credential = token_credential(token);
  u.active = true;
  u.vhosts = {"/"};
  u.tags = tags;
  return u;
}

// An AuthService over the Pulse rules and the users of the captured
// scenario, auditing to memory.
struct Fixture {
  testing::AuditLines audit;
  SnapshotSource snapshots;
  AuthService service{snapshots, audit};

  Fixture() {
    std::vector<UserRecord> users;
    for (const char* name : {"alice", "bob", "a.b", "aXb", "eve"}) {
      users.push_back(active_user(name, std::string(name) + "-token"));
    }
    users.push_back(active_user("ops", "ops-token", "management monitoring"));
    snapshots.replace(std::make_shared<const Snapshot>(
        std::move(users), std::make_shared<const Rules>(Rules::pulse_default())));
  }

  HttpAnswer post(std::string_view path, std::string_view body) {
    return service.handle(
        HttpCall{"POST", path, "", "application/x-www-form-urlencoded", body, "127.0.0.1:5000"});
  }
  HttpAnswer get(std::string_view path, std::string_view query) {
    return service.handle(HttpCall{"GET", path, query, "", "", "127.0.0.1:5000"});
  }
  std::vector<nlohmann::json> audit_lines() {
    return testing::parse_json_lines<nlohmann::json>(audit.lines());
  }
};

}  // namespace

// Threads against each other (the audit log's writer thread): in ctest -L threaded, which
// scripts/sanitize.sh runs under ThreadSanitizer.
TEST_SUITE_BEGIN("threaded");

TEST_CASE("every request RabbitMQ 3.10 sent in the Pulse scenario gets the answer it needs") {
  Fixture f;
  std::ifstream in(std::string(AUTHSVC_TESTDATA) + "/rabbitmq-3.10-requests.jsonl");
  REQUIRE(in);
  std::string line;
  int replayed = 0;
  while (std::getline(in, line)) {
    auto capture = nlohmann::json::parse(line);
    std::string method = capture["method"], path = capture["path"], params = capture["params"];
    CAPTURE(line);
    HttpAnswer answer = method == "GET" ? f.get(path, params) : f.post(path, params);
    CHECK(answer.status == 200);
    CHECK(answer.body == capture["answer"].get<std::string>());
    ++replayed;
  }
  CHECK(replayed == 54);
  CHECK(f.audit_lines().size() == 54);
}

TEST_CASE("answers are exactly allow, allow with tags, or deny, without a newline") {
  Fixture f;
  CHECK(f.post("/auth/user", "username=alice&password=alice-token").body == "allow");
  CHECK(f.post("/auth/user", "username=ops&password=ops-token").body ==
        "allow management monitoring");
  CHECK(f.get("/auth/user", "username=ops&password=ops-token").body ==
        "allow management monitoring");
  CHECK(f.post("/auth/user", "username=alice&password=nope").body == "deny");
  CHECK(f.post("/auth/vhost", "username=alice&vhost=%2F&ip=%3A%3Affff%3A127.0.0.1&tags=").body ==
        "allow");
  CHECK(f.post("/auth/vhost", "username=alice&vhost=other&ip=&tags=").body == "deny");
  // Newer brokers send extra context keys: ignored.
  CHECK(f.post("/auth/user", "username=alice&password=alice-token&client_id=c1&vhost=%2F").body ==
        "allow");
  CHECK(f.post("/auth/resource",
               "username=alice&vhost=%2F&resource=queue&name=queue%2Falice%2Fq&permission=read&"
               "tags=&client_id=x&x-new-key=1")
            .body == "allow");
}

TEST_CASE("bad requests get a 4xx and deny, are audited, and change nothing") {
  Fixture f;
  struct Case {
    const char* method;
    const char* path;
    const char* form;
    int status;
  };
  const Case cases[] = {
      {"POST", "/auth/resource", "username=alice&vhost=%2F&resource=queue&name=queue%2Falice%2Fq",
       400},  // no permission
      {"POST", "/auth/resource",
       "username=alice&vhost=%2F&resource=queue&name=queue%2Falice%2Fq&name=queue%2Fbob%2Fq&"
       "permission=read",
       400},  // repeated name
      {"POST", "/auth/resource",
       "username=alice&vhost=%2F&resource=queue&name=queue%2Falice%2Fq%ZZ&permission=read", 400},
      {"POST", "/auth/user", "username=alice&password=alice-token&", 400},
      {"POST", "/auth/user", "", 400},
      {"GET", "/auth/user", "", 400},
      {"POST", "/auth/topic",
       "username=alice&vhost=%2F&resource=topic&name=exchange%2Falice%2Fx&permission=configure&"
       "routing_key=a",
       400},
      {"POST", "/auth/resource", "username=alice&vhost=%2F&resource=stream&name=x&permission=read",
       400},
      {"POST", "/auth/users", "username=alice&password=alice-token", 404},
      {"POST", "/", "", 404},
      {"PUT", "/auth/user", "username=alice&password=alice-token", 405},
      {"DELETE", "/auth/user", "username=alice&password=alice-token", 405},
  };
  for (const Case& c : cases) {
    CAPTURE(c.method);
    CAPTURE(c.path);
    CAPTURE(c.form);
    HttpAnswer a = f.service.handle(
        HttpCall{c.method, c.path, c.form, "application/x-www-form-urlencoded", c.form, "peer"});
    CHECK(a.status == c.status);
    CHECK(a.body == "deny");
  }
  // POST with another content type is refused rather than guessed at.
  HttpAnswer json = f.service.handle(
      HttpCall{"POST", "/auth/user", "", "application/json", R"({"username":"alice"})", "peer"});
  CHECK(json.status == 415);
  CHECK(json.body == "deny");

  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == std::size(cases) + 1);
  for (const nlohmann::json& line : lines) {
    CHECK(line["decision"] == "deny");
    CHECK(line["rule"] == "bad-request");
    CHECK_FALSE(line["reason"].get<std::string>().empty());
  }
  // Nothing changed: alice still logs in.
  CHECK(f.post("/auth/user", "username=alice&password=alice-token").body == "allow");
}

TEST_CASE("audit lines carry the design's fields and never the password") {
  Fixture f;
  f.post("/auth/user", "username=alice&password=alice-token");
  f.post("/auth/user", "username=alice&password=wrong-secret-value");
  f.post("/auth/user", "username=alice&password=alice-token&password=x");  // repeated: refused
  f.post("/auth/topic",
         "username=bob&vhost=%2F&resource=topic&name=exchange%2Falice%2Fv1&permission=read&tags=&"
         "routing_key=build.%23&variable_map.username=bob&variable_map.vhost=%2F");
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 4);
  for (const char* field : {"ts", "endpoint", "user", "vhost", "resource", "name", "permission",
                            "routing_key", "ip", "decision", "rule", "reason", "us"}) {
    CAPTURE(field);
    CHECK(lines[3].contains(field));
  }
  CHECK(lines[0]["decision"] == "allow");
  CHECK(lines[1]["decision"] == "deny");
  CHECK(lines[2]["status"] == 400);
  CHECK(lines[3]["routing_key"] == "build.#");
  CHECK(lines[3]["name"] == "exchange/alice/v1");
  std::string text;
  for (const std::string& line : f.audit.lines()) text += line + "\n";
  CHECK(text.find("alice-token") == std::string::npos);
  CHECK(text.find("wrong-secret-value") == std::string::npos);
}

TEST_CASE("names that are not UTF-8 are audited, not crashed on") {
  Fixture f;
  HttpAnswer a = f.post("/auth/resource",
                        "username=alice&vhost=%2F&resource=queue&name=queue%2Falice%2F%FF%00x&"
                        "permission=read&tags=");
  CHECK(a.status == 200);
  CHECK(a.body == "allow");
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["name"].get<std::string>().find("\xEF\xBF\xBD") != std::string::npos);
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("repeated failed logins are throttled, audited as such, and the right token waits too") {
  Fixture f;
  LoginThrottle::Clock::time_point now{};
  LoginThrottle throttle(LoginThrottleOptions{}, [&] { return now; });
  AuthService service(f.snapshots, f.audit, &throttle);
  auto login = [&](const std::string& user, const std::string& token) {
    std::string body = "username=" + user + "&password=" + token;
    return service
        .handle(HttpCall{"POST", "/auth/user", "", "application/x-www-form-urlencoded", body, "p"})
        .body;
  };
  for (int i = 0; i < 5; ++i) CHECK(login("alice", "guess-" + std::to_string(i)) == "deny");
  CHECK(login("alice", "alice-token") == "deny");  // cooling off: not even checked
  CHECK(login("bob", "bob-token") == "allow");     // others are not affected
  now += std::chrono::seconds(61);
  CHECK(login("alice", "alice-token") == "allow");

  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 8);
  CHECK(lines[4]["rule"] == "login");
  CHECK(lines[5]["rule"] == "throttled");
  CHECK(lines[5]["decision"] == "deny");
  CHECK(lines[7]["decision"] == "allow");
}

TEST_CASE(
    "an imported password is throttled like a token, and the audit line names the credential") {
  Fixture f;
  UserRecord carol = active_user("carol", "unused");
  // RabbitMQ's SHA-256 form of "Summer2019" with salt "salt": a password a
  // person chose, as a definitions file holds it.
  carol.credential = token_credential("saltSummer2019");
  carol.credential.hash.insert(carol.credential.hash.begin(), {'s', 'a', 'l', 't'});
  carol.credential.scheme = CredentialScheme::rabbit_sha256;
  UserRecord dave = active_user("dave", "dave-new");
  dave.previous = token_credential("dave-old");
  dave.previous_valid_until = std::chrono::system_clock::now() + std::chrono::hours(1);
  f.snapshots.replace(std::make_shared<const Snapshot>(
      std::vector<UserRecord>{carol, dave}, std::make_shared<const Rules>(Rules::pulse_default())));
  LoginThrottle::Clock::time_point now{};
  LoginThrottle throttle(LoginThrottleOptions{}, [&] { return now; });
  AuthService service(f.snapshots, f.audit, &throttle);
  auto login = [&](const std::string& user, const std::string& secret) {
    std::string body = "username=" + user + "&password=" + secret;
    return service
        .handle(HttpCall{"POST", "/auth/user", "", "application/x-www-form-urlencoded", body, "p"})
        .body;
  };
  CHECK(login("carol", "Summer2019") == "allow");
  CHECK(login("dave", "dave-old") == "allow");
  CHECK(login("dave", "dave-new") == "allow");
  for (const char* guess : {"Summer2018", "Summer2020", "Winter2019", "summer2019", "Summer19"}) {
    CHECK(login("carol", guess) == "deny");
  }
  CHECK(login("carol", "Summer2019") == "deny");  // cooling off, like a token's owner

  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 9);
  CHECK(lines[0]["credential"] == "current");
  CHECK(lines[0]["reason"] == "imported password accepted");
  CHECK(lines[1]["credential"] == "previous");
  CHECK(lines[2]["credential"] == "current");
  CHECK(lines[3]["credential"] == "");
  CHECK(lines[8]["rule"] == "throttled");
  for (const nlohmann::json& line : lines) {
    CHECK(line.dump().find("Summer") == std::string::npos);  // never the password
  }
}

TEST_SUITE_END();

}  // namespace authsvc

namespace authsvc {
namespace {

// The Fixture's users and rules, with `internal` as --internal-user, a
// throttle that would act on the second failure, and metrics.
struct InternalUserFixture : Fixture {
  LoginThrottle throttle{
      LoginThrottleOptions{2, std::chrono::seconds(60), std::chrono::seconds(60), 100}};
  DecisionMetrics metrics{Rules::pulse_default()};
  AuthService internal_aware;

  explicit InternalUserFixture(std::vector<std::string> internal)
      : internal_aware(snapshots, audit, &throttle, &metrics, InternalUsers(std::move(internal))) {}

  std::string login(const std::string& user, const std::string& token) {
    std::string body = "username=" + user + "&password=" + token;
    return internal_aware
        .handle(HttpCall{"POST", "/auth/user", "", "application/x-www-form-urlencoded", body, "p"})
        .body;
  }
};

constexpr const char* kInternalReason =
    "an account of the broker's internal database: left to the next backend";

}  // namespace

TEST_CASE("an internal user is denied at once on every endpoint, audited and counted") {
  InternalUserFixture f({"authsvc-guardian"});
  CHECK(f.login("authsvc-guardian", "its-broker-password") == "deny");
  const std::pair<const char*, const char*> others[] = {
      {"/auth/vhost", "username=authsvc-guardian&vhost=%2F&ip=&tags=administrator"},
      {"/auth/resource",
       "username=authsvc-guardian&vhost=%2F&resource=queue&name=queue%2Falice%2Fq&"
       "permission=read&tags=administrator"},
      {"/auth/topic",
       "username=authsvc-guardian&vhost=%2F&resource=topic&name=amq.topic&permission=write&"
       "routing_key=a&tags=administrator"}};
  for (const auto& [path, form] : others) {
    CAPTURE(path);
    HttpAnswer get = f.internal_aware.handle(HttpCall{"GET", path, form, "", "", "p"});
    CHECK(get.status == 200);
    CHECK(get.body == "deny");
  }

  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 4);
  const char* endpoints[] = {"user", "vhost", "resource", "topic"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CAPTURE(lines[i].dump());
    CHECK(lines[i]["endpoint"] == endpoints[i]);
    CHECK(lines[i]["user"] == "authsvc-guardian");
    CHECK(lines[i]["decision"] == "deny");
    CHECK(lines[i]["status"] == 200);
    CHECK(lines[i]["rule"] == "internal-user");
    CHECK(lines[i]["reason"] == kInternalReason);
    CHECK(lines[i]["credential"] == "");
    CHECK(f.metrics.value(endpoints[i], false, "internal-user") == 1);
  }
  CHECK(lines[0].dump().find("its-broker-password") == std::string::npos);
  CHECK(f.metrics.value("user", false, "unknown-user") == 0);
  MetricsRegistry registry;
  f.metrics.register_in(registry);
  CHECK(registry.exposition().find(
            "authsvc_decisions_total{endpoint=\"user\",result=\"deny\",rule=\"internal-user\"} "
            "1\n") != std::string::npos);
}

TEST_CASE("an internal user's logins never count as failures nor become throttled") {
  InternalUserFixture f({"authsvc-guardian", "authsvc-web"});
  for (int i = 0; i < 20; ++i) {
    CHECK(f.login("authsvc-guardian", "x") == "deny");
    CHECK(f.login("authsvc-web", "x") == "deny");
  }
  CHECK(f.throttle.tracked_names() == 0);
  CHECK_FALSE(f.throttle.throttled("authsvc-guardian"));
  CHECK(f.metrics.value("user", false, "internal-user") == 40);
  CHECK(f.metrics.value("user", false, "throttled") == 0);
  for (const nlohmann::json& line : f.audit_lines()) CHECK(line["rule"] == "internal-user");

  // Other names are throttled as before, and log in as before.
  CHECK(f.login("mallory", "a") == "deny");
  CHECK(f.login("mallory", "b") == "deny");
  CHECK(f.audit_lines().back()["rule"] == "unknown-user");
  CHECK(f.login("mallory", "c") == "deny");
  CHECK(f.audit_lines().back()["rule"] == "throttled");
  CHECK(f.login("alice", "alice-token") == "allow");
  CHECK(f.login("ops", "ops-token") == "allow management monitoring");
  CHECK(f.audit_lines().back()["rule"] == "login");
}

TEST_CASE(
    "an authsvc account named like an internal user is never logged in: its token is unused") {
  // ops is an authsvc account of the Fixture, with the token ops-token.
  InternalUserFixture f({"ops"});
  CHECK(f.login("ops", "ops-token") == "deny");
  CHECK(f.internal_aware
            .handle(HttpCall{"GET", "/auth/vhost", "username=ops&vhost=%2F&ip=", "", "", "p"})
            .body == "deny");
  std::vector<nlohmann::json> lines = f.audit_lines();
  REQUIRE(lines.size() == 2);
  for (const nlohmann::json& line : lines) {
    CHECK(line["rule"] == "internal-user");
    CHECK(line["reason"] ==
          "an account of the broker's internal database: left to the next backend; authsvc's "
          "account of this name is not used");
    CHECK(line["credential"] == "");
  }
  // The plain service, without internal users, still lets it in.
  CHECK(f.service
            .handle(HttpCall{"POST", "/auth/user", "", "application/x-www-form-urlencoded",
                             "username=ops&password=ops-token", "p"})
            .body == "allow management monitoring");
}

TEST_CASE("an internal user is denied before any user data is loaded, and bad requests stay 400") {
  testing::AuditLines audit;
  SnapshotSource empty;
  DecisionMetrics metrics{Rules::pulse_default()};
  AuthService service(empty, audit, nullptr, &metrics, InternalUsers({"authsvc-guardian"}));
  auto post = [&](std::string_view path, std::string_view body) {
    return service.handle(
        HttpCall{"POST", path, "", "application/x-www-form-urlencoded", body, "p"});
  };
  HttpAnswer a = post("/auth/user", "username=authsvc-guardian&password=x");
  CHECK(a.status == 200);
  CHECK(a.body == "deny");
  CHECK(post("/auth/user", "username=alice&password=x").status == 503);
  // What cannot be parsed is refused as malformed, whoever sent it.
  CHECK(post("/auth/user", "username=authsvc-guardian&password=x&password=y").status == 400);
  std::vector<nlohmann::json> lines = testing::parse_json_lines<nlohmann::json>(audit.lines());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["rule"] == "internal-user");
  CHECK(lines[0]["reason"] == kInternalReason);
  CHECK(lines[1]["rule"] == "no-snapshot");
  CHECK(lines[2]["rule"] == "bad-request");
}

}  // namespace authsvc
