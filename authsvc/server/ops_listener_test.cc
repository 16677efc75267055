#include "authsvc/server/ops_listener.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>

#include "authsvc/core/build_info.h"

namespace authsvc {

TEST_SUITE_BEGIN("threaded");

TEST_CASE("the ops listener serves metrics, liveness and readiness, and nothing else") {
  MetricsRegistry registry;
  Counter& c = registry.counter("authsvc_test_total", "A test counter.");
  c.add(7);
  register_process_metrics(registry);
  std::atomic<bool> ready{false};
  OpsListener ops("127.0.0.1:0", registry,
                  [&]() -> std::string { return ready ? "" : "the database was never read"; });
  httplib::Client client("127.0.0.1", ops.port());

  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(metrics->body.find("\nauthsvc_test_total 7\n") != std::string::npos);
  CHECK(metrics->body.find(std::string("authsvc_build_info{version=\"") + kBuildVersion +
                           "\",commit=\"" + kBuildCommit + "\"} 1\n") != std::string::npos);
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_open_fds ", "process_start_time_seconds "}) {
    CAPTURE(name);
    CHECK(metrics->body.find(std::string("\n") + name) != std::string::npos);
  }

  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok\n");

  auto not_ready = client.Get("/readyz");
  REQUIRE(not_ready);
  CHECK(not_ready->status == 503);
  CHECK(not_ready->body == "not ready: the database was never read\n");
  ready = true;
  auto now_ready = client.Get("/readyz");
  REQUIRE(now_ready);
  CHECK(now_ready->status == 200);
  CHECK(now_ready->body == "ready\n");

  auto post = client.Post("/metrics", "x", "text/plain");
  REQUIRE(post);
  CHECK(post->status == 405);
  auto other = client.Get("/auth/user?username=a&password=b");
  REQUIRE(other);
  CHECK(other->status == 404);
}

TEST_CASE("a readiness check that throws is a 503 that says so") {
  MetricsRegistry registry;
  OpsListener ops("127.0.0.1:0", registry,
                  []() -> std::string { throw std::runtime_error("database is locked"); });
  httplib::Client client("127.0.0.1", ops.port());
  auto answer = client.Get("/readyz");
  REQUIRE(answer);
  CHECK(answer->status == 503);
  CHECK(answer->body == "not ready: the readiness check failed: database is locked\n");
}

TEST_SUITE_END();

TEST_CASE("a metrics address in use or malformed is an error naming --metrics-listen") {
  MetricsRegistry registry;
  OpsListener first("127.0.0.1:0", registry, [] { return std::string(); });
  std::string taken = "127.0.0.1:" + std::to_string(first.port());
  try {
    OpsListener second(taken, registry, [] { return std::string(); });
    FAIL("a second listener on a port in use");
  } catch (const ListenError& e) {
    CHECK(std::string(e.what()) ==
          "--metrics-listen: cannot listen on " + taken + ": Address already in use");
  }
  CHECK_THROWS_WITH_AS(OpsListener("9100", registry, [] { return std::string(); }),
                       "--metrics-listen '9100' is not HOST:PORT", ListenError);
  CHECK(start_ops_listener("", registry, [] { return std::string(); }) == nullptr);
}

}  // namespace authsvc
