// Round trips through the real listener on an ephemeral port: what the
// broker's HTTP client sees, byte for byte.
#include "authsvc/server/http_server.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/in_process_server.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

// alice, and ops with the tags of a broker administrator.
struct RunningServer : testing::InProcessServer {
  RunningServer()
      : InProcessServer({testing::test_user("alice", "alice-token"),
                         testing::test_user("ops", "ops-token", "administrator management")}) {}
  httplib::Client client() {
    httplib::Client c("127.0.0.1", port());
    c.set_keep_alive(true);
    return c;
  }
  std::vector<nlohmann::json> audit_json() {
    return testing::parse_json_lines<nlohmann::json>(audit_lines());
  }
};

struct Exchange {
  const char* path;
  const char* params;
  const char* expected;
};

// One request per endpoint, allowed and denied, as RabbitMQ 3.10 encodes them.
const Exchange kExchanges[] = {
    {"/auth/user", "username=alice&password=alice-token", "allow"},
    {"/auth/user", "username=ops&password=ops-token", "allow administrator management"},
    {"/auth/user", "username=alice&password=wrong", "deny"},
    {"/auth/vhost", "username=alice&vhost=%2F&ip=%3A%3Affff%3A127.0.0.1&tags=", "allow"},
    {"/auth/vhost", "username=alice&vhost=secret&ip=%3A%3Affff%3A127.0.0.1&tags=", "deny"},
    {"/auth/resource",
     "username=alice&vhost=%2F&resource=exchange&name=exchange%2Falice%2Ftest&permission=configure&"
     "tags=",
     "allow"},
    {"/auth/resource",
     "username=alice&vhost=%2F&resource=exchange&name=amq.topic&permission=write&tags=", "deny"},
    {"/auth/topic",
     "username=alice&vhost=%2F&resource=topic&name=exchange%2Falice%2Ftest&permission=write&tags=&"
     "routing_key=a.b.c&variable_map.username=alice&variable_map.vhost=%2F",
     "allow"},
    {"/auth/topic",
     "username=alice&vhost=%2F&resource=topic&name=amq.topic&permission=write&tags=&"
     "routing_key=a.b.c&variable_map.username=alice&variable_map.vhost=%2F",
     "deny"},
};

}  // namespace

TEST_CASE("POST and GET on all four endpoints answer the exact bodies, status 200" *
          doctest::test_suite("threaded")) {
  RunningServer s;
  httplib::Client c = s.client();
  for (const Exchange& e : kExchanges) {
    CAPTURE(e.path);
    CAPTURE(e.params);
    auto post = c.Post(e.path, e.params, "application/x-www-form-urlencoded");
    REQUIRE(post);
    CHECK(post->status == 200);
    CHECK(post->body == e.expected);
    CHECK(post->get_header_value("Content-Length") == std::to_string(std::strlen(e.expected)));
    auto get = c.Get((std::string(e.path) + "?" + e.params).c_str());
    REQUIRE(get);
    CHECK(get->status == 200);
    CHECK(get->body == e.expected);
  }
  CHECK(s.audit_json().size() == 2 * std::size(kExchanges));
}

TEST_CASE("one keep-alive connection serves many requests" * doctest::test_suite("threaded")) {
  RunningServer s;
  httplib::Client c = s.client();
  for (int i = 0; i < 200; ++i) {
    auto r = c.Post("/auth/user", "username=alice&password=alice-token",
                    "application/x-www-form-urlencoded");
    REQUIRE(r);
    CHECK(r->body == "allow");
  }
  std::set<std::string> peers;
  for (const nlohmann::json& line : s.audit_json()) peers.insert(line["peer"].get<std::string>());
  CHECK(peers.size() == 1);
}

TEST_CASE("the listener refuses oversized, unknown and malformed requests with deny" *
          doctest::test_suite("threaded")) {
  RunningServer s;
  httplib::Client c = s.client();
  std::string huge = "username=alice&password=" + std::string(1 << 20, 'x');
  auto big = c.Post("/auth/user", huge, "application/x-www-form-urlencoded");
  REQUIRE(big);
  CHECK(big->status == 413);
  CHECK(big->body == "deny");

  httplib::Client c2 = s.client();
  auto unknown = c2.Get("/metrics");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(unknown->body == "deny");
  auto bad =
      c2.Post("/auth/resource", "username=alice&vhost=%2", "application/x-www-form-urlencoded");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body == "deny");
  auto put = c2.Put("/auth/user", "username=alice&password=alice-token",
                    "application/x-www-form-urlencoded");
  REQUIRE(put);
  CHECK(put->status == 405);
  CHECK(put->body == "deny");
  // Still serving after all of that.
  auto ok = c2.Post("/auth/user", "username=alice&password=alice-token",
                    "application/x-www-form-urlencoded");
  REQUIRE(ok);
  CHECK(ok->body == "allow");

  std::vector<nlohmann::json> lines = s.audit_json();
  REQUIRE(lines.size() == 5);
  CHECK(lines[0]["status"] == 413);
  CHECK(lines[0]["rule"] == "bad-request");
  CHECK(s.audit_text().find("alice-token") == std::string::npos);
}

TEST_CASE("an address that cannot be listened on is a ListenError that names it") {
  RunningServer taken;
  testing::AuditLines audit;
  SnapshotSource snapshots;
  AuthService service(snapshots, audit);
  HttpServer second(service, HttpServerOptions{});
  std::string expected = "cannot listen on 127.0.0.1:" + std::to_string(taken.port());
  CHECK_THROWS_WITH_AS(second.bind("127.0.0.1", taken.port()), doctest::Contains(expected.c_str()),
                       ListenError);
  CHECK_THROWS_WITH_AS(second.bind("no-such-host.invalid", 0),
                       doctest::Contains("cannot listen on no-such-host.invalid:0"), ListenError);
}

TEST_CASE("listen addresses parse as HOST:PORT") {
  std::optional<ListenAddress> v4 = parse_listen_address("127.0.0.1:8000");
  REQUIRE(v4);
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 8000);
  std::optional<ListenAddress> v6 = parse_listen_address("[::1]:0");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 0);
  for (const char* bad :
       {"", "8000", ":8000", "host:", "host:x", "host:65536", "host:-1", "[::1:80"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_listen_address(bad));
  }
}

namespace {

// A handler of its own, for what the listener does with any handler; what
// the HTTP layer refuses is answered plainly.
class TestHandler : public HttpHandler {
 public:
  HttpAnswer refuse(const HttpCall&, int status, std::string_view reason,
                    std::string_view) const override {
    return HttpAnswer{status == 0 ? 400 : status, std::string(reason)};
  }
};

// `handler` on a free loopback port, until this goes.
class Listening {
 public:
  explicit Listening(const HttpHandler& handler) : server_(handler, HttpServerOptions{}) {
    server_.bind("127.0.0.1", 0);
    thread_ = std::thread([this] { server_.run(); });
  }
  ~Listening() {
    server_.stop();
    thread_.join();
  }
  httplib::Client client() { return httplib::Client("127.0.0.1", server_.port()); }

 private:
  HttpServer server_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("a header sent on several lines: get gives the first, get_all every one, in order" *
          doctest::test_suite("threaded")) {
  // What a proxy that adds its own X-Forwarded-For line (HAProxy does)
  // after the client's sends: the client's line is not the whole story.
  class EchoForwardedFor : public TestHandler {
   public:
    HttpAnswer handle(const HttpCall& call) const override {
      std::string first(call.header("X-Forwarded-For"));
      return HttpAnswer{200, first + "|" + call.headers->get_all("x-forwarded-for")};
    }
  } echo;
  Listening listening(echo);
  httplib::Client client = listening.client();
  httplib::Headers two{{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "198.51.100.1"}};
  httplib::Result r = client.Get("/", two);
  REQUIRE(r);
  CHECK(r->body == "6.6.6.6|6.6.6.6, 198.51.100.1");
  httplib::Result one = client.Get("/", httplib::Headers{{"X-Forwarded-For", "198.51.100.2"}});
  REQUIRE(one);
  CHECK(one->body == "198.51.100.2|198.51.100.2");
  httplib::Result none = client.Get("/");
  REQUIRE(none);
  CHECK(none->body == "|");
}

TEST_CASE("a handler that throws gets a 500, and the listener goes on" *
          doctest::test_suite("threaded")) {
  class Throwing : public TestHandler {
   public:
    HttpAnswer handle(const HttpCall& call) const override {
      if (call.path == "/bad") throw std::bad_alloc();
      if (call.path == "/odd") throw 42;
      return HttpAnswer{200, "fine"};
    }
  } handler;
  Listening listening(handler);
  httplib::Client client = listening.client();
  httplib::Result bad = client.Get("/bad");
  REQUIRE(bad);
  CHECK(bad->status == 500);
  CHECK(bad->body == "internal error\n");
  httplib::Result odd = client.Get("/odd");
  REQUIRE(odd);
  CHECK(odd->status == 500);
  httplib::Result fine = client.Get("/");
  REQUIRE(fine);
  CHECK(fine->body == "fine");
}

}  // namespace authsvc
