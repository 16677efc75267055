// Nanoseconds per line of the audit log's hot side, AuditLog::append (a
// lock, the node put first, a copy into the batch), with its writer thread
// writing to /dev/null; and a whole request with it, AuthService::handle.
// Not a test; prints figures.
//
//   build/tests/bench/audit_log_bench [iterations]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "authsvc/core/audit_line.h"
#include "authsvc/core/auth_service.h"
#include "authsvc/core/credential.h"
#include "authsvc/core/rules.h"
#include "authsvc/core/snapshot_source.h"
#include "authsvc/server/audit_log.h"

using namespace authsvc;

namespace {

template <typename F>
double measure(int iterations, F&& f) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) f(i);
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
             .count() /
         iterations;
}

// The fastest of `rounds` runs: the least disturbed by whatever else the
// machine does.
template <typename F>
void report(const char* what, int rounds, int iterations, F&& f) {
  double best = 1e300;
  for (int r = 0; r < rounds; ++r) best = std::min(best, measure(iterations, f));
  std::printf("%-44s %8.1f ns\n", what, best);
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 1000000;
  constexpr int kRounds = 7;
  DecisionRecord record;
  record.ts = std::chrono::system_clock::now();
  record.endpoint = "topic";
  record.user = "user000123";
  record.vhost = "/";
  record.resource = "topic";
  record.name = "exchange/user004567/v1";
  record.permission = "read";
  record.routing_key = "build.#";
  record.peer = "127.0.0.1:45678";
  record.allow = true;
  record.rule = "any-topic-read";
  record.reason = "rule any-topic-read (line 31) allows read on topic 'exchange/user004567/v1'";
  const std::string line = to_json_line(record);

  std::vector<UserRecord> users(1000);
  for (std::size_t i = 0; i < users.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "user%06zu", i);
    users[i].name = name;
    users[i].credential = token_credential(name);
    users[i].active = true;
    users[i].vhosts = {"/"};
  }
  SnapshotSource source(std::make_shared<const Snapshot>(
      std::move(users), std::make_shared<const Rules>(Rules::pulse_default())));
  const std::string body =
      "username=user000123&vhost=%2F&resource=topic&name=exchange%2Fuser000456%2Fv1&"
      "permission=read&tags=&routing_key=build.%23&variable_map.username=user000123&"
      "variable_map.vhost=%2F";

  std::printf("audit log to /dev/null, a %zu-byte decision line, best of %d rounds of %d\n",
              line.size(), kRounds, iterations);
  AuditLog audit("/dev/null", "pulse-1.example.org:8000");
  report("AuditLog::append", kRounds, iterations, [&](int) { audit.append(line); });
  audit.flush();
  AuthService service(source, audit);
  std::size_t sink = 0;
  report("AuthService::handle with AuditLog", kRounds, iterations, [&](int) {
    HttpCall call{"POST", "/auth/topic",    "", "application/x-www-form-urlencoded",
                  body,   "127.0.0.1:45678"};
    sink += service.handle(call).body.size();
  });
  audit.flush();
  std::printf("(checksum %zu, %llu lines written)\n", sink,
              static_cast<unsigned long long>(audit.lines_written()));
}
