// `authsvc serve --metrics-listen`: what a scraper and a load balancer's
// probe see of a real serve process, and how readiness follows its
// database and its audit log.
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <httplib.h>

#include <fstream>
#include <regex>

#include "tests/test_support.h"

namespace authsvc {
namespace {

using Users = testing::Cli;
using testing::eventually;

std::string login(httplib::Client& http, const std::string& user, const std::string& token) {
  auto r = http.Post("/auth/user", "username=" + user + "&password=" + token,
                     "application/x-www-form-urlencoded");
  return r ? r->body : "no answer: " + httplib::to_string(r.error());
}

// The value of the sample whose line starts with `series` and a space; -1
// if there is none.
double sample(const std::string& exposition, const std::string& series) {
  std::size_t at = exposition.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(exposition.substr(at + series.size() + 2));
}

struct Probe {
  explicit Probe(int port) : http("127.0.0.1", port) {}
  std::string metrics() {
    auto r = http.Get("/metrics");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return r->body;
  }
  std::pair<int, std::string> get(const std::string& path) {
    auto r = http.Get(path);
    if (!r) return {0, httplib::to_string(r.error())};
    return {r->status, r->body};
  }
  httplib::Client http;
};

void overwrite(const std::string& path, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_SUITE_BEGIN("threaded");

TEST_CASE("serve's metrics count every answer by endpoint, result and rule") {
  Users users;
  std::string alice = users.add("alice");
  users.add("bob");
  testing::ServeProcess serve({"--db", users.db, "--metrics-listen", "127.0.0.1:0"}, users.dir);
  Probe probe(serve.metrics_port());
  httplib::Client http("127.0.0.1", serve.port());
  http.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) REQUIRE(login(http, "alice", alice) == "allow");
  REQUIRE(login(http, "alice", "wrong") == "deny");
  REQUIRE(login(http, "mallory", "x") == "deny");
  auto resource = [&](const std::string& name) {
    auto r =
        http.Post("/auth/resource",
                  "username=alice&vhost=%2F&resource=queue&name=" + name + "&permission=configure",
                  "application/x-www-form-urlencoded");
    REQUIRE(r);
    return r->body;
  };
  REQUIRE(resource("queue%2Falice%2Fq") == "allow");
  REQUIRE(resource("queue%2Fbob%2Fq") == "deny");
  REQUIRE(http.Get("/auth/nowhere"));

  std::string m = probe.metrics();
  CAPTURE(m);
  CHECK(sample(m, R"(authsvc_decisions_total{endpoint="user",result="allow",rule="login"})") == 3);
  CHECK(sample(m, R"(authsvc_decisions_total{endpoint="user",result="deny",rule="login"})") == 1);
  CHECK(
      sample(m, R"(authsvc_decisions_total{endpoint="user",result="deny",rule="unknown-user"})") ==
      1);
  CHECK(sample(m,
               R"(authsvc_decisions_total{endpoint="resource",result="allow",rule="own-queue"})") ==
        1);
  CHECK(
      sample(m,
             R"(authsvc_decisions_total{endpoint="resource",result="deny",rule="default-deny"})") ==
      1);
  CHECK(
      sample(m, R"(authsvc_decisions_total{endpoint="other",result="deny",rule="bad-request"})") ==
      1);
  CHECK(sample(m, R"(authsvc_request_duration_seconds_count{endpoint="user"})") == 5);
  CHECK(sample(m, R"(authsvc_request_duration_seconds_bucket{endpoint="user",le="+Inf"})") == 5);
  CHECK(sample(m, "authsvc_snapshot_users") == 2);
  CHECK(sample(m, "authsvc_http_connections") >= 1);
  CHECK(sample(m, "authsvc_store_errors_total") == 0);
  CHECK(sample(m, R"(authsvc_snapshot_reloads_total{kind="full"})") >= 1);
  CHECK(sample(m, "authsvc_snapshot_age_seconds") < 5);
  CHECK(sample(m, "authsvc_audit_lines_lost_total") == 0);
  CHECK(std::regex_search(
      m, std::regex(
             R"(\nauthsvc_build_info\{version="[0-9.]+",commit="[0-9a-f]{7,}(-dirty)?"\} 1\n)")));
  // Eight answers, two user events: all written, eventually.
  CHECK(
      eventually([&] { return sample(probe.metrics(), "authsvc_audit_lines_written_total") == 10; },
                 std::chrono::seconds(2)));
  CHECK(sample(probe.metrics(), "authsvc_audit_lines_waiting") == 0);

  CHECK(probe.get("/healthz") == std::pair<int, std::string>{200, "ok\n"});
  CHECK(probe.get("/readyz") == std::pair<int, std::string>{200, "ready\n"});
  // The broker-facing port serves none of it.
  auto on_broker_port = http.Get("/metrics");
  REQUIRE(on_broker_port);
  CHECK(on_broker_port->status == 404);
  CHECK(serve.stop() == 0);
}

TEST_CASE("readyz: not ready while the database cannot be read, ready again once it can") {
  Users users;
  std::string alice = users.add("alice");
  {
    // Everything into the main file, so that it alone holds the users.
    SQLite::Database raw(users.db, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  testing::ServeProcess serve(
      {"--db", users.db, "--metrics-listen", "127.0.0.1:0", "--ready-store-age", "1s"}, users.dir);
  Probe probe(serve.metrics_port());
  REQUIRE(probe.get("/readyz").first == 200);
  std::string good = testing::read_file(users.db);
  overwrite(users.db, std::string(good.size(), '\0'));
  overwrite(users.db + "-shm", std::string(128, '\0'));
  std::pair<int, std::string> answer;
  REQUIRE(eventually(
      [&] {
        answer = probe.get("/readyz");
        return answer.first == 503;
      },
      std::chrono::seconds(5)));
  CHECK(answer.second.starts_with("not ready: the database cannot be read since "));
  CHECK(answer.second.find("; answering from the snapshot read at ") != std::string::npos);
  CHECK(answer.second.ends_with(" s ago, limit 1 s)\n"));
  CHECK(sample(probe.metrics(), "authsvc_store_reachable") == 0);
  CHECK(sample(probe.metrics(), "authsvc_store_errors_total") >= 1);
  // Still alive, and still answering the broker from the last good snapshot.
  CHECK(probe.get("/healthz").first == 200);
  httplib::Client http("127.0.0.1", serve.port());
  CHECK(login(http, "alice", alice) == "allow");

  overwrite(users.db, good);
  // At the next retry: at most 5 s later (retry_delay).
  CHECK(eventually([&] { return probe.get("/readyz").first == 200; }, std::chrono::seconds(8)));
  CHECK(sample(probe.metrics(), "authsvc_store_reachable") == 1);
  CHECK(sample(probe.metrics(), "authsvc_store_reconnects_total") == 1);
  CHECK(serve.stop() == 0);
}

TEST_CASE("readyz: not ready while audit lines cannot be written") {
  Users users;
  std::string alice = users.add("alice");
  testing::ServeProcess serve(
      {"--db", users.db, "--audit-log", "/dev/full", "--metrics-listen", "127.0.0.1:0"}, users.dir);
  Probe probe(serve.metrics_port());
  httplib::Client http("127.0.0.1", serve.port());
  REQUIRE(login(http, "alice", alice) == "allow");
  std::pair<int, std::string> answer;
  // The limit is 5 s of waiting.
  REQUIRE(eventually(
      [&] {
        answer = probe.get("/readyz");
        return answer.first == 503;
      },
      std::chrono::seconds(10)));
  CHECK(std::regex_match(answer.second,
                         std::regex(R"(not ready: \d+ audit lines wait to be written, the oldest )"
                                    R"(for \d+\.\d s \(limit 5 s\)\n)")));
  std::string m = probe.metrics();
  CHECK(sample(m, "authsvc_audit_write_errors_total") >= 1);
  CHECK(sample(m, "authsvc_audit_lines_waiting") >= 2);
  CHECK(sample(m, "authsvc_audit_oldest_wait_seconds") > 5);
  CHECK(serve.stop() == 1);  // it gives up on those lines at exit
}

TEST_SUITE_END();

TEST_CASE("--metrics-listen on a port in use: exit 1 and one line") {
  Users users;
  testing::ServeProcess first({"--db", users.db, "--metrics-listen", "127.0.0.1:0"}, users.dir);
  std::string taken = "127.0.0.1:" + std::to_string(first.metrics_port());
  testing::CommandResult second = testing::run_authsvc(
      {"serve", "--db", users.db, "--listen", "127.0.0.1:0", "--metrics-listen", taken});
  CHECK(second.exit_code == 1);
  CHECK(second.err ==
        "authsvc: --metrics-listen: cannot listen on " + taken + ": Address already in use\n");
  CHECK(first.stop() == 0);
}

}  // namespace authsvc
