// libFuzzer target: the whole request path, from HTTP method, path and form
// text to the answer and its audit line, against the Pulse rules and a few
// users. It must never crash, always audit exactly one line, and answer
// only "allow", "allow <tags>" or "deny"; an allow needs status 200, and a
// login allow needs the right token.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "authsvc/core/auth_service.h"

namespace {

using namespace authsvc;

// Counts lines, and checks each is one JSON object on one line.
class CountingSink : public AuditSink {
 public:
  void append(std::string_view line) override {
    if (line.empty() || line.front() != '{' || line.back() != '}' ||
        line.find('\n') != std::string_view::npos) {
      std::abort();
    }
    ++lines;
  }
  std::uint64_t lines = 0;
};

struct World {
  CountingSink audit;
  SnapshotSource snapshots;
  AuthService service{snapshots, audit};

  World() {
    std::vector<UserRecord> users;
    for (const char* name : {"alice", "bob", "a.b", "aXb"}) {
      UserRecord u;
      u.name = name;
      u.credential = token_credential(std::string(name) + "-token");
      u.active = std::string(name) != "bob";
      // The other shapes an account takes: a password imported from
      // RabbitMQ, a rotation's grace, an expiry passed.
      if (std::string(name) == "a.b") {
        u.credential =
            Credential{CredentialScheme::rabbit_sha256, std::vector<std::uint8_t>(36, 7)};
        u.previous = token_credential("a.b-token");
        u.previous_valid_until = std::chrono::system_clock::now() + std::chrono::hours(1);
      }
      if (std::string(name) == "aXb") u.expires_at = std::chrono::system_clock::time_point();
      u.vhosts = {"/"};
      u.tags = std::string(name) == "alice" ? "management" : "";
      users.push_back(std::move(u));
    }
    snapshots.replace(std::make_shared<const Snapshot>(
        std::move(users), std::make_shared<const Rules>(Rules::pulse_default())));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  if (size < 1) return 0;
  // First byte picks the method and path; the rest is the form text.
  static const char* kMethods[] = {"GET", "POST", "PUT", "HEAD"};
  static const char* kPaths[] = {"/auth/user", "/auth/vhost", "/auth/resource", "/auth/topic",
                                 "/auth/other"};
  const char* method = kMethods[data[0] & 3];
  const char* path = kPaths[(data[0] >> 2) % 5];
  std::string_view form(reinterpret_cast<const char*>(data + 1), size - 1);
  std::uint64_t before = world.audit.lines;
  HttpCall call{method, path, form, "application/x-www-form-urlencoded", form, "127.0.0.1:1"};
  HttpAnswer answer = world.service.handle(call);
  if (world.audit.lines != before + 1) std::abort();
  bool allow = answer.body == "allow" || answer.body.rfind("allow ", 0) == 0;
  if (!allow && answer.body != "deny") std::abort();
  if (allow && answer.status != 200) std::abort();
  // Only the right token logs in: the fuzzer cannot guess one, so a login
  // allow means it found a way around the check.
  if (allow && std::string_view(path) == "/auth/user") {
    if (form.find("-token") == std::string_view::npos) std::abort();
  }
  return 0;
}
