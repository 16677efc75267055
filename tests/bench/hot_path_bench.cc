// Nanoseconds per call of each step of the request hot path, in process:
// where the time goes before the network. Not a test; prints figures.
//
//   build/tests/bench/hot_path_bench [iterations]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "authsvc/core/audit_line.h"
#include "authsvc/core/auth_request.h"
#include "authsvc/core/auth_service.h"
#include "authsvc/core/decision.h"
#include "authsvc/core/form.h"
#include "authsvc/core/snapshot_source.h"

using namespace authsvc;

namespace {

// What AuditLog::append costs a request (a lock, a copy into a batch), with
// the batch dropped instead of written: the pure core has no file.
class BufferSink : public AuditSink {
 public:
  void append(std::string_view line) override {
    std::lock_guard lock(mutex_);
    if (batch_.size() > (1 << 20)) batch_.clear();
    batch_.append(line);
    batch_.push_back('\n');
  }

 private:
  std::mutex mutex_;
  std::string batch_;
};

template <typename F>
void measure(const char* what, int iterations, F&& f) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) f(i);
  auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start);
  std::printf("%-44s %8.0f ns\n", what, ns.count() / iterations);
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 200000;
  constexpr int kUsers = 100000;
  std::vector<UserRecord> users(kUsers);
  for (int i = 0; i < kUsers; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "user%06d", i);
    users[static_cast<std::size_t>(i)].name = name;
    users[static_cast<std::size_t>(i)].credential = token_credential(name);
    users[static_cast<std::size_t>(i)].active = true;
    users[static_cast<std::size_t>(i)].vhosts = {"/"};
  }
  SnapshotSource source(std::make_shared<const Snapshot>(
      std::move(users), std::make_shared<const Rules>(Rules::pulse_default())));

  std::vector<std::string> bodies;
  for (int i = 0; i < 1000; ++i) {
    char body[512];
    std::snprintf(body, sizeof body,
                  "username=user%06d&vhost=%%2F&resource=topic&name=exchange%%2Fuser%06d%%2Fv1&"
                  "permission=read&tags=&routing_key=build.%%23&variable_map.username=user%06d&"
                  "variable_map.vhost=%%2F",
                  (i * 7919) % kUsers, (i * 104729) % kUsers, (i * 7919) % kUsers);
    bodies.push_back(body);
  }
  std::string error;
  std::vector<Form> forms;
  std::vector<AuthRequest> requests;
  for (const std::string& b : bodies) {
    forms.push_back(*Form::decode(b, &error));
    requests.push_back(*parse_auth_request(Endpoint::topic, forms.back(), &error));
  }
  const Snapshot& snapshot = *source.current_for_this_thread();

  std::printf("hot path steps, topic read requests, %d users, %d iterations\n", kUsers, iterations);
  std::size_t sink = 0;
  measure("Form::decode", iterations, [&](int i) {
    sink += Form::decode(bodies[static_cast<std::size_t>(i % 1000)], &error)->fields().size();
  });
  measure("parse_auth_request", iterations, [&](int i) {
    sink += parse_auth_request(Endpoint::topic, forms[static_cast<std::size_t>(i % 1000)], &error)
                ->name.size();
  });
  measure("Snapshot::find_user", iterations, [&](int i) {
    sink += snapshot.find_user(requests[static_cast<std::size_t>(i % 1000)].username).has_value();
  });
  auto now = std::chrono::system_clock::now();
  measure("decide", iterations, [&](int i) {
    sink += decide(requests[static_cast<std::size_t>(i % 1000)], snapshot, now).allow;
  });
  // Logins: a token hashed against the current credential and, always, the
  // previous one (decision.cc says why); then the other shapes an account
  // takes. One SHA-256 of a token alone, for scale.
  {
    UserRecord plain = to_record(*snapshot.find_user("user000001"));
    UserRecord rotating = plain;
    rotating.name = "rotating";
    rotating.previous = token_credential("old-token");
    rotating.previous_valid_until = now + std::chrono::hours(1);
    UserRecord legacy = plain;
    legacy.name = "legacy";
    legacy.credential = token_credential("saltpassword");  // SHA-256(salt + password)
    legacy.credential.hash.insert(legacy.credential.hash.begin(), {'s', 'a', 'l', 't'});
    legacy.credential.scheme = CredentialScheme::rabbit_sha256;
    Snapshot accounts({plain, rotating, legacy},
                      std::make_shared<const Rules>(Rules::pulse_default()));
    auto login = [](const char* user, const char* secret) {
      AuthRequest r;
      r.endpoint = Endpoint::user;
      r.username = user;
      r.password = secret;
      return r;
    };
    AuthRequest token_login = login("user000001", "user000001");
    AuthRequest previous_login = login("rotating", "old-token");
    AuthRequest legacy_login = login("legacy", "password");
    measure("SHA-256 of a token (credential_matches)", iterations,
            [&](int) { sink += credential_matches("user000001", plain.credential); });
    measure("decide, login with a token", iterations,
            [&](int) { sink += decide(token_login, accounts, now).allow; });
    measure("decide, login with the previous token (grace)", iterations,
            [&](int) { sink += decide(previous_login, accounts, now).allow; });
    measure("decide, login with an imported sha256 password", iterations,
            [&](int) { sink += decide(legacy_login, accounts, now).allow; });
    if (!decide(token_login, accounts, now).allow || !decide(previous_login, accounts, now).allow ||
        !decide(legacy_login, accounts, now).allow) {
      std::fprintf(stderr, "hot_path_bench: a login that must be allowed was not\n");
      return 1;
    }
  }
  DecisionRecord record;
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
  measure("to_json_line (audit line)", iterations,
          [&](int) { sink += to_json_line(record).size(); });
  {
    BufferSink audit;
    AuthService service(source, audit);
    measure("AuthService::handle (all of the above)", iterations, [&](int i) {
      HttpCall call{"POST",
                    "/auth/topic",
                    "",
                    "application/x-www-form-urlencoded",
                    bodies[static_cast<std::size_t>(i % 1000)],
                    "127.0.0.1:45678"};
      sink += service.handle(call).body.size();
    });
  }
  std::printf("(checksum %zu)\n", sink);
}
