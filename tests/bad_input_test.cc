// Hostile and malformed input, as raw bytes on the listener's socket: each
// case with the status and body it must get. None may crash the server,
// hang it, or allow; each is audited.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/in_process_server.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

// The listener, with alice as its one user.
struct Server : testing::InProcessServer {
  explicit Server(HttpServerOptions options = {})
      : InProcessServer({testing::test_user("alice", "alice-token")}, std::move(options)) {}
};

// What came back on a connection, and how the reading ended: the server
// closed (or reset) the connection, or the deadline passed with the
// connection still open.
struct Reply {
  std::string bytes;
  bool closed = false;
};

// Sends `bytes` on a fresh connection, then reads until the server closes
// or `wait` (scaled: testing::scaled) passes.
Reply exchange(int port, const std::string& bytes, std::chrono::milliseconds wait) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse and close before reading it all
    sent += static_cast<std::size_t>(n);
  }
  Reply reply;
  auto deadline = std::chrono::steady_clock::now() + testing::scaled(wait);
  char buffer[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {  // 0: closed; < 0: reset, after a refusal the server did not read
      reply.closed = true;
      break;
    }
    reply.bytes.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return reply;
}

int status_of(const std::string& reply) {
  if (reply.rfind("HTTP/1.", 0) != 0 || reply.size() < 12) return 0;
  return std::stoi(reply.substr(9, 3));
}

std::string body_of(const std::string& reply) {
  std::size_t at = reply.find("\r\n\r\n");
  return at == std::string::npos ? "" : reply.substr(at + 4);
}

std::string post(const std::string& path, const std::string& body,
                 const std::string& type = "application/x-www-form-urlencoded") {
  return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
}

const std::string kResource = "username=alice&vhost=%2F&resource=queue&permission=read&name=";

struct Case {
  const char* what;
  std::string request;
  // The expected status. 0: no answer, the connection is closed. -1:
  // libmicrohttpd's own refusal: a 4xx, or no answer and the connection
  // closed. Either way within the deadline: a hang is no refusal.
  int status;
  const char* body;  // expected body, or nullptr for "anything but an allow"
};

std::vector<Case> cases() {
  using namespace std::string_literals;
  std::string big(1 << 20, 'x');
  std::string n255(255 - std::string("queue/alice/").size(), 'q');
  std::string headers;
  for (int i = 0; i < 2000; ++i) headers += "X-Flood-" + std::to_string(i) + ": y\r\n";
  return {
      {"missing username", post("/auth/user", "password=alice-token"), 400, "deny"},
      {"missing password: no x509 logins", post("/auth/user", "username=alice"), 200, "deny"},
      {"empty username", post("/auth/user", "username=&password=alice-token"), 200, "deny"},
      {"empty password", post("/auth/user", "username=alice&password="), 200, "deny"},
      {"repeated username", post("/auth/user", "username=alice&username=bob&password=alice-token"),
       400, "deny"},
      {"repeated password", post("/auth/user", "username=alice&password=x&password=alice-token"),
       400, "deny"},
      {"repeated name",
       post("/auth/resource", kResource + "queue%2Falice%2Fq&name=queue%2Fbob%2Fq"), 400, "deny"},
      {"missing vhost", post("/auth/vhost", "username=alice&ip=x&tags="), 400, "deny"},
      {"missing permission",
       post("/auth/resource", "username=alice&vhost=%2F&resource=queue&name=queue%2Falice%2Fq"),
       400, "deny"},
      {"missing routing key",
       post("/auth/topic",
            "username=alice&vhost=%2F&resource=topic&name=exchange%2Falice%2Fx&permission=write"),
       400, "deny"},
      {"bad percent escape", post("/auth/user", "username=al%G1ce&password=alice-token"), 400,
       "deny"},
      {"truncated percent escape", post("/auth/user", "username=alice&password=alice-token%4"), 400,
       "deny"},
      {"lone percent", post("/auth/user", "username=%&password=alice-token"), 400, "deny"},
      {"empty field", post("/auth/user", "username=alice&&password=alice-token"), 400, "deny"},
      {"field without '='", post("/auth/user", "username=alice&password"), 400, "deny"},
      {"escaped NUL in the user name", post("/auth/user", "username=alice%00&password=alice-token"),
       200, "deny"},
      {"raw NUL in the body",
       post("/auth/user", std::string("username=ali\0ce&password=alice-token", 35)), 200, "deny"},
      {"invalid UTF-8 in a name", post("/auth/resource", kResource + "queue%2Fbob%2F%FF%FE"), 200,
       "deny"},
      {"own queue name of exactly 255 bytes",
       post("/auth/resource", kResource + "queue%2Falice%2F" + n255), 200, "allow"},
      {"name of 256 bytes", post("/auth/resource", kResource + "queue%2Falice%2F" + n255 + "q"),
       400, "deny"},
      {"user name of 300 bytes",
       post("/auth/user", "username=" + std::string(300, 'a') + "&password=x"), 400, "deny"},
      {"vhost of 256 bytes", post("/auth/vhost", "username=alice&vhost=" + std::string(256, 'v')),
       400, "deny"},
      {"unknown resource kind",
       post("/auth/resource", "username=alice&vhost=%2F&resource=stream&name=x&permission=read"),
       400, "deny"},
      {"topic resource on /auth/resource",
       post("/auth/resource", "username=alice&vhost=%2F&resource=topic&name=x&permission=read"),
       400, "deny"},
      {"unknown permission",
       post("/auth/resource", kResource.substr(0, kResource.find("permission")) +
                                  "permission=delete&name=queue%2Falice%2Fq"),
       400, "deny"},
      {"configure on /auth/topic",
       post("/auth/topic",
            "username=alice&vhost=%2F&resource=topic&name=exchange%2Falice%2Fx&"
            "permission=configure&routing_key=a"),
       400, "deny"},
      {"1 MB body", post("/auth/user", "username=alice&password=" + big), 413, "deny"},
      {"1 MB query string", get("/auth/user?username=alice&password=" + big), -1, nullptr},
      {"2000 headers",
       "GET /auth/user?username=alice&password=alice-token HTTP/1.1\r\nHost: x\r\n" + headers +
           "\r\n",
       -1, nullptr},
      {"one 20 KB header",
       "GET /auth/user HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'b') + "\r\n\r\n", -1,
       nullptr},
      {"unknown method", "BREW /auth/user HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405,
       "deny"},
      {"PUT",
       "PUT /auth/user HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 405,
       "deny"},
      {"DELETE", "DELETE /auth/user HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405, "deny"},
      {"unknown path", post("/auth/users", "username=alice&password=alice-token"), 404, "deny"},
      {"path with a trailing slash", post("/auth/user/", "username=alice&password=alice-token"),
       404, "deny"},
      {"path in capitals", post("/AUTH/USER", "username=alice&password=alice-token"), 404, "deny"},
      {"root path", get("/"), 404, "deny"},
      {"absolute URI",
       "POST http://evil/auth/user HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", -1, nullptr},
      {"JSON body",
       post("/auth/user", R"({"username":"alice","password":"alice-token"})", "application/json"),
       415, "deny"},
      {"HTTP/1.0 without Host", "GET /auth/user?username=alice&password=wrong HTTP/1.0\r\n\r\n",
       200, "deny"},
      // A TLS ClientHello's first bytes, NULs and all ("..."s: a plain literal
      // would end at the first NUL, sending 4 bytes and no line end).
      {"garbage request line", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n"s, -1,
       nullptr},
      {"double-encoded slash", post("/auth/resource", kResource + "queue%252Falice%252Fq"), 200,
       "deny"},
      {"'+' in a name is a space", post("/auth/resource", kResource + "queue%2Falice%2F+q"), 200,
       "allow"},
      {"'+' is a space, so it cannot stand for a '/'",
       post("/auth/resource", kResource + "queue%2Falice+%2Fq"), 200, "deny"},
      {"regex characters in a user name",
       post("/auth/resource",
            "username=a.*&vhost=%2F&resource=queue&name=queue%2Falice%2Fq&"
            "permission=read"),
       200, "deny"},
      {"negative Content-Length",
       "POST /auth/user HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nusername=alice", -1,
       nullptr},
  };
}

}  // namespace

// Threads against each other (the listener's threads): in ctest -L threaded, which
// scripts/sanitize.sh runs under ThreadSanitizer.
TEST_SUITE_BEGIN("threaded");

TEST_CASE("the bad-input table: every case gets its answer, none allows wrongly, all audited") {
  Server s;
  std::vector<Case> table = cases();
  CHECK(table.size() == 46);  // as README.md says
  int answered = 0;
  for (const Case& c : table) {
    std::string what = c.what;
    CAPTURE(what);
    Reply reply = exchange(s.port(), c.request, std::chrono::milliseconds(2000));
    int status = status_of(reply.bytes);
    std::string body = body_of(reply.bytes);
    CAPTURE(reply.closed);
    if (c.status > 0) {
      CHECK(status == c.status);
    } else if (c.status == 0) {
      CHECK(status == 0);
      CHECK(reply.closed);
    } else {
      CHECK(((status >= 400 && status < 500) || (status == 0 && reply.closed)));
    }
    if (c.body) {
      CHECK(body == c.body);
    } else {
      CHECK(body.rfind("allow", 0) != 0);
    }
    if (c.status > 0) ++answered;
    // The server still answers, and correctly, after each case.
    Reply ok = exchange(s.port(), post("/auth/user", "username=alice&password=alice-token"),
                        std::chrono::milliseconds(2000));
    CHECK(body_of(ok.bytes) == "allow");
  }
  std::vector<std::string> lines = s.audit_lines();
  // One line per case answered by authsvc, plus the check after each. Cases
  // libmicrohttpd refuses itself are audited when their request line could be
  // read (an oversized one cannot: it is answered 414 and not seen by us).
  CHECK(lines.size() >= static_cast<std::size_t>(answered) + table.size());
  for (const std::string& line : lines) {
    auto j = nlohmann::json::parse(line);
    if (j["decision"] == "allow") CHECK(j["user"] == "alice");
    CHECK(line.find("alice-token") == std::string::npos);
  }
}

TEST_CASE("a slow request (slowloris) is cut off at the idle timeout and audited") {
  HttpServerOptions options;
  options.idle_timeout_seconds = 1;
  Server s(options);
  auto started = std::chrono::steady_clock::now();
  // Half a request line, then nothing: the server must close the connection.
  Reply reply = exchange(s.port(), "POST /auth/user HTTP/1.1\r\nHost: x\r\nContent-Le",
                         std::chrono::milliseconds(5000));
  auto waited = std::chrono::steady_clock::now() - started;
  CHECK(reply.closed);
  CHECK(reply.bytes.empty());
  CHECK(waited < testing::scaled(std::chrono::milliseconds(4000)));
  // A body that never arrives: cut off too, and audited as timed out.
  reply = exchange(s.port(),
                   "POST /auth/user HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nusername=al",
                   std::chrono::milliseconds(5000));
  CHECK(reply.closed);
  CHECK(body_of(reply.bytes).rfind("allow", 0) != 0);
  CHECK(s.audit_text().find("timed out") != std::string::npos);
}

TEST_CASE("pipelined requests on one connection are all answered, in order") {
  Server s;
  std::string two =
      "POST /auth/user HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: 35\r\n\r\n"
      "username=alice&password=alice-token" +
      post("/auth/user", "username=alice&password=wrong");
  Reply reply = exchange(s.port(), two, std::chrono::milliseconds(2000));
  CHECK(reply.closed);  // after the second answer: Connection: close
  std::size_t first = reply.bytes.find("\r\n\r\nallow");
  std::size_t second = reply.bytes.find("\r\n\r\ndeny");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(first < second);
}

TEST_SUITE_END();

}  // namespace authsvc
