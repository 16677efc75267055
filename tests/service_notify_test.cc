// What serve tells systemd (authsvc/server/service_notifier.h), seen from a
// NOTIFY_SOCKET of the test's own: no systemd needed.

#include <doctest/doctest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <optional>

#include "tests/test_support.h"

namespace authsvc {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A unix datagram socket that a child's sd_notify() writes to.
class NotifySocket {
 public:
  explicit NotifySocket(const testing::TempDir& dir) : path_(dir.file("notify")) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof address.sun_path);
    path_.copy(address.sun_path, path_.size());
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~NotifySocket() { close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }
  // The next message, or nullopt after `timeout` (scaled).
  std::optional<std::string> receive(milliseconds timeout) {
    timeval tv{};
    const auto limit = testing::scaled(timeout);
    tv.tv_sec = static_cast<time_t>(limit.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>(limit.count() % 1000 * 1000);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buffer[4096];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
  }
  // Receives until a message contains `wanted`; false after `timeout`.
  bool await(const std::string& wanted, milliseconds timeout) {
    const auto deadline = steady_clock::now() + testing::scaled(timeout);
    while (steady_clock::now() < deadline) {
      std::optional<std::string> message = receive(milliseconds(100));
      if (message && message->find(wanted) != std::string::npos) return true;
    }
    return false;
  }
  // How many messages that are exactly `message` arrive in `period`: a rate,
  // so not scaled.
  int count(const std::string& message, milliseconds period) {
    int n = 0;
    const auto deadline = steady_clock::now() + period;
    while (steady_clock::now() < deadline) {
      std::optional<std::string> received = receive(milliseconds(500));
      if (received && *received == message) ++n;
    }
    return n;
  }
  // Whether a message waiting now contains `wanted`; takes them all.
  bool has_waiting(const std::string& wanted) {
    bool found = false;
    while (std::optional<std::string> m = receive(milliseconds(50))) {
      if (m->find(wanted) != std::string::npos) found = true;
    }
    return found;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

std::string login(int port, const std::string& user, const std::string& token) {
  httplib::Client http("127.0.0.1", port);
  auto r = http.Post("/auth/user", "username=" + user + "&password=" + token,
                     "application/x-www-form-urlencoded");
  return r ? r->body : "no answer: " + httplib::to_string(r.error());
}

// No WATCHDOG_PID: sd_watchdog_enabled() would compare it with serve's pid,
// which is not known before it runs; without it, any process takes it.
// Pings every 100 ms.
std::vector<std::string> notify_env(const NotifySocket& socket) {
  return {"NOTIFY_SOCKET=" + socket.path(), "WATCHDOG_USEC=200000"};
}

}  // namespace

TEST_CASE("serve tells systemd it is ready once it answers, feeds the watchdog, and stops") {
  testing::Cli cli;
  std::string token = cli.add("alice");
  NotifySocket notify(cli.dir);
  testing::ServeProcess serve({"--db", cli.db}, cli.dir, notify_env(notify));
  REQUIRE(notify.await("READY=1", milliseconds(5000)));
  // Ready means answering, at once.
  CHECK(login(serve.port(), "alice", token) == "allow");

  // About ten; a slow machine may lose a few.
  CHECK(notify.count("WATCHDOG=1", milliseconds(1000)) >= 4);

  CHECK(serve.stop() == 0);
  CHECK(notify.has_waiting("STOPPING=1"));
}

TEST_CASE("serve stops feeding the watchdog while its audit log cannot be written") {
  testing::Cli cli;
  std::string token = cli.add("alice");
  NotifySocket notify(cli.dir);
  testing::ServeProcess serve({"--db", cli.db, "--audit-log", "/dev/full"}, cli.dir,
                              notify_env(notify));
  REQUIRE(notify.await("READY=1", milliseconds(5000)));
  CHECK(login(serve.port(), "alice", token) == "allow");  // an audit line that cannot be written
  REQUIRE(notify.await("WATCHDOG=1", milliseconds(2000)));

  // Past kAuditMaxWait (5 s) the pings stop: wait for 2 s without one, 20
  // intervals, where there was one every 100 ms.
  const auto deadline = steady_clock::now() + testing::scaled(milliseconds(15000));
  auto last_ping = steady_clock::now();
  bool silent = false;
  std::string status;
  while (!silent && steady_clock::now() < deadline) {
    std::optional<std::string> message = notify.receive(milliseconds(200));
    if (message && *message == "WATCHDOG=1") last_ping = steady_clock::now();
    if (message && message->rfind("STATUS=unhealthy", 0) == 0) status = *message;
    silent = steady_clock::now() - last_ping > testing::scaled(milliseconds(2000));
  }
  CHECK(silent);
  CHECK(status.find("audit lines wait to be written") != std::string::npos);
  CHECK(serve.stderr_text().find("not feeding systemd's watchdog") != std::string::npos);
  CHECK(serve.stop() == 1);  // with audit lines unwritten
}

TEST_CASE("the guardian is ready at once and feeds the watchdog while its broker fails") {
  testing::Cli cli;
  std::string password = cli.dir.file("pw");
  testing::write_file(password, "secret\n");
  chmod(password.c_str(), 0600);
  testing::LoopbackSocket refused(false);
  NotifySocket notify(cli.dir);
  testing::ChildProcess guardian(
      {AUTHSVC_BINARY, "guardian", "--db", cli.db, "--management-user", "op",
       "--management-password-file", password, "--management-url",
       "http://127.0.0.1:" + std::to_string(refused.port()), "--dry-run", "--interval", "0.1"},
      cli.dir, "guardian", notify_env(notify));
  REQUIRE(notify.await("READY=1", milliseconds(5000)));
  // Its looks fail (nothing listens): a loop that goes on, not a stuck one.
  CHECK(notify.count("WATCHDOG=1", milliseconds(1000)) >= 4);
  CHECK(guardian.stop() == 0);
  CHECK(notify.has_waiting("STOPPING=1"));
}

TEST_CASE(
    "web tells systemd it is ready, feeds the watchdog while its listener answers, and stops") {
  testing::Cli cli;
  NotifySocket notify(cli.dir);
  testing::ChildProcess web({AUTHSVC_BINARY, "web", "--db", cli.db, "--listen", "127.0.0.1:0",
                             "--public-url", "http://127.0.0.1:8080", "--dev-login"},
                            cli.dir, "web", notify_env(notify));
  REQUIRE(notify.await("READY=1", milliseconds(5000)));
  int port = std::stoi(web.await_on_stderr("listening on 127.0.0.1:", milliseconds(1000)));
  httplib::Client http("127.0.0.1", port);
  CHECK(http.Get("/"));  // answering once ready
  CHECK(notify.count("WATCHDOG=1", milliseconds(1000)) >= 4);
  CHECK(web.stop() == 0);
  CHECK(notify.has_waiting("STOPPING=1"));
}

}  // namespace authsvc
