#include "authsvc/core/decision_metrics.h"

#include <doctest/doctest.h>

#include "authsvc/core/auth_service.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

struct Fixture {
  testing::AuditLines audit;
  SnapshotSource snapshots;
  DecisionMetrics metrics{Rules::pulse_default()};
  LoginThrottle throttle{
      LoginThrottleOptions{2, std::chrono::seconds(60), std::chrono::seconds(60), 100}};
  AuthService service{snapshots, audit, &throttle, &metrics};

  Fixture() {
    UserRecord alice;
    alice.name = "alice";
    alice.credential = token_credential("alice-token");
    alice.active = true;
    alice.vhosts = {"/"};
    snapshots.replace(std::make_shared<const Snapshot>(
        std::vector<UserRecord>{alice}, std::make_shared<const Rules>(Rules::pulse_default())));
  }
  HttpAnswer post(std::string_view path, std::string_view body) {
    return service.handle(
        HttpCall{"POST", path, "", "application/x-www-form-urlencoded", body, "127.0.0.1:5000"});
  }
  std::string exposition() {
    MetricsRegistry registry;
    metrics.register_in(registry);
    return registry.exposition();
  }
};

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("every answer counts once, by endpoint, result and the rule that decided") {
  Fixture f;
  f.post("/auth/user", "username=alice&password=alice-token");
  f.post("/auth/user", "username=alice&password=wrong");
  f.post("/auth/user", "username=mallory&password=x");
  f.post("/auth/resource",
         "username=alice&vhost=%2F&resource=queue&name=queue%2Falice%2Fq&permission=configure");
  f.post("/auth/resource",
         "username=alice&vhost=%2F&resource=queue&name=queue%2Fbob%2Fq&permission=configure");
  f.post("/auth/topic",
         "username=alice&vhost=%2F&resource=topic&name=exchange%2Falice%2Fx&permission=write"
         "&routing_key=a.b");
  f.post("/auth/nowhere", "x=1");
  f.post("/auth/vhost", "username=alice");  // no vhost: a bad request
  CHECK(f.metrics.value("user", true, "login") == 1);
  CHECK(f.metrics.value("user", false, "login") == 1);
  CHECK(f.metrics.value("user", false, "unknown-user") == 1);
  CHECK(f.metrics.value("resource", true, "own-queue") == 1);
  CHECK(f.metrics.value("resource", false, "default-deny") == 1);
  CHECK(f.metrics.value("topic", true, "own-topic-write") == 1);
  CHECK(f.metrics.value("other", false, "bad-request") == 1);
  CHECK(f.metrics.value("vhost", false, "bad-request") == 1);

  std::string text = f.exposition();
  CHECK(has_line(
      text, R"(authsvc_decisions_total{endpoint="resource",result="allow",rule="own-queue"} 1)"));
  CHECK(has_line(
      text, R"(authsvc_decisions_total{endpoint="other",result="deny",rule="bad-request"} 1)"));
  // The attacker's path is no label value.
  CHECK(text.find("nowhere") == std::string::npos);
  // Eight answers, eight durations; the 404's under "other".
  long total = 0;
  for (std::string_view e : DecisionMetrics::kEndpoints) {
    std::string prefix =
        "authsvc_request_duration_seconds_count{endpoint=\"" + std::string(e) + "\"} ";
    std::size_t at = text.find(prefix);
    REQUIRE(at != std::string::npos);
    total += std::stol(text.substr(at + prefix.size()));
  }
  CHECK(total == 8);
  // The first bound is 10 µs, the last finite one 100 ms.
  CHECK(text.find(R"(authsvc_request_duration_seconds_bucket{endpoint="user",le="1e-05"})") !=
        std::string::npos);
  CHECK(text.find(R"(authsvc_request_duration_seconds_bucket{endpoint="user",le="0.1"})") !=
        std::string::npos);
}

TEST_CASE("throttled logins and listener refusals are counted") {
  Fixture f;
  for (int i = 0; i < 2; ++i) f.post("/auth/user", "username=alice&password=wrong");
  f.post("/auth/user", "username=alice&password=alice-token");  // cooling off
  CHECK(f.metrics.value("user", false, "throttled") == 1);
  f.service.refuse(HttpCall{"POST", "/auth/user", "", "", "", "127.0.0.1:1"}, 413,
                   "request body too large");
  f.service.refuse(HttpCall{"", "", "", "", "", "127.0.0.1:1"}, 0, "handshake failed", "tls");
  CHECK(f.metrics.value("user", false, "bad-request") == 1);
  CHECK(f.metrics.value("other", false, "tls") == 1);
  std::string text = f.exposition();
  CHECK(has_line(text, "authsvc_logins_throttled_total 1"));
}

TEST_CASE("a rule name nobody foresaw is counted under its name, up to a bound") {
  Fixture f;
  for (int i = 0; i < 100; ++i) f.metrics.refused("user", "surprise-" + std::to_string(i));
  CHECK(f.metrics.value("user", false, "surprise-0") == 1);
  CHECK(f.metrics.value("user", false, "surprise-63") == 1);
  CHECK(f.metrics.value("user", false, "surprise-64") == 0);
  CHECK(f.metrics.value("user", false, "other") == 36);
}

}  // namespace authsvc
