#include "authsvc/core/auth_request.h"

#include <doctest/doctest.h>

#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::decode_ok;

AuthRequest parse_ok(Endpoint endpoint, std::string_view text) {
  std::string error;
  std::optional<AuthRequest> request = parse_auth_request(endpoint, decode_ok(text), &error);
  INFO("text: ", text, " error: ", error);
  REQUIRE(request.has_value());
  CHECK(request->endpoint == endpoint);
  return std::move(*request);
}

std::string parse_error(Endpoint endpoint, std::string_view text) {
  std::string error;
  std::optional<AuthRequest> request = parse_auth_request(endpoint, decode_ok(text), &error);
  INFO("text: ", text);
  REQUIRE_FALSE(request.has_value());
  CHECK_FALSE(error.empty());
  CHECK(error.find('\n') == std::string::npos);
  return error;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// `text` with the field `key=...` removed (it must be there).
std::string without(std::string_view text, std::string_view key) {
  std::string s(text);
  std::string field = std::string(key) + "=";
  std::size_t at = s.rfind(field, 0) == 0 ? 0 : s.find("&" + field);
  REQUIRE(at != std::string::npos);
  std::size_t start = at == 0 ? 0 : at + 1;
  std::size_t end = s.find('&', start);
  if (at == 0) {
    s.erase(0, end == std::string::npos ? s.size() : end + 1);
  } else {
    s.erase(at, (end == std::string::npos ? s.size() : end) - at);
  }
  return s;
}

// `text` with the field `key` given `value` instead, last.
std::string with(std::string_view text, std::string_view key, std::string_view value) {
  return without(text, key) + "&" + std::string(key) + "=" + std::string(value);
}

// Each of `keys` left out of `text` in turn is refused, the message naming it.
void check_each_missing_is_named(Endpoint endpoint, std::string_view text,
                                 std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    CAPTURE(key);
    CHECK(parse_error(endpoint, without(text, key)) ==
          "missing parameter '" + std::string(key) + "'");
  }
}

// `text` with `key` given each of `values` in turn is refused, the message
// quoting the value.
void check_each_value_is_refused(Endpoint endpoint, std::string_view text, std::string_view key,
                                 std::initializer_list<std::string_view> values) {
  for (std::string_view value : values) {
    CAPTURE(value);
    CHECK(contains(parse_error(endpoint, with(text, key, value)), "'" + std::string(value) + "'"));
  }
}

constexpr std::string_view kUser = "username=alice&password=secret";
constexpr std::string_view kVhost = "username=alice&vhost=%2F&ip=%3A%3Affff%3A127.0.0.1&tags=";
constexpr std::string_view kResource =
    "username=alice&vhost=%2F&resource=exchange&name=exchange%2Falice%2Ftest&permission="
    "configure&tags=";
constexpr std::string_view kTopic =
    "username=alice&vhost=%2F&resource=topic&name=exchange%2Falice%2Ftest&permission=read&tags=&"
    "routing_key=a.%2A.c&variable_map.username=alice&variable_map.vhost=%2F";

TEST_SUITE("auth_request") {
  TEST_CASE("the helper that removes a field removes exactly that field") {
    CHECK(without("a=1&b=2&c=3", "a") == "b=2&c=3");
    CHECK(without("a=1&b=2&c=3", "b") == "a=1&c=3");
    CHECK(without("a=1&b=2&c=3", "c") == "a=1&b=2");
    CHECK(without("ab=1&b=2", "b") == "ab=1");
    CHECK(with("a=1&b=2&c=3", "b", "x") == "a=1&c=3&b=x");
  }

  TEST_CASE("endpoint_from_path knows exactly the four auth paths") {
    CHECK(endpoint_from_path("/auth/user") == Endpoint::user);
    CHECK(endpoint_from_path("/auth/vhost") == Endpoint::vhost);
    CHECK(endpoint_from_path("/auth/resource") == Endpoint::resource);
    CHECK(endpoint_from_path("/auth/topic") == Endpoint::topic);
    const char* others[] = {"/auth/users",   "/auth/user/",  "",
                            "/AUTH/USER",    "/auth",        "/auth/",
                            "auth/user",     "/auth/user?",  "//auth/user",
                            "/auth/user%20", "/auth/topics", "/"};
    for (const char* path : others) {
      CAPTURE(path);
      CHECK_FALSE(endpoint_from_path(path).has_value());
    }
  }

  TEST_CASE("to_string names each endpoint, resource kind and permission as the broker does") {
    CHECK(to_string(Endpoint::user) == "user");
    CHECK(to_string(Endpoint::vhost) == "vhost");
    CHECK(to_string(Endpoint::resource) == "resource");
    CHECK(to_string(Endpoint::topic) == "topic");
    for (ResourceKind r : {ResourceKind::exchange, ResourceKind::queue, ResourceKind::topic}) {
      CHECK(resource_kind_from_string(to_string(r)) == r);
    }
    for (Permission p : {Permission::configure, Permission::write, Permission::read}) {
      CHECK(permission_from_string(to_string(p)) == p);
    }
    CHECK_FALSE(resource_kind_from_string("stream").has_value());
    CHECK_FALSE(resource_kind_from_string("Exchange").has_value());
    CHECK_FALSE(resource_kind_from_string("").has_value());
    CHECK_FALSE(permission_from_string("Read").has_value());
    CHECK_FALSE(permission_from_string("").has_value());
    CHECK_FALSE(permission_from_string("*").has_value());
  }

  TEST_CASE("/auth/user parses username and password as RabbitMQ 3.10 sends them") {
    AuthRequest r = parse_ok(Endpoint::user, kUser);
    CHECK(r.username == "alice");
    REQUIRE(r.password.has_value());
    CHECK(*r.password == "secret");
  }

  TEST_CASE("/auth/user keeps the password's bytes exactly, '+' and escapes decoded") {
    AuthRequest r = parse_ok(Endpoint::user, "username=alice&password=a%2Bb+c%00%FF");
    REQUIRE(r.password.has_value());
    CHECK(*r.password == std::string("a+b c\0\xFF", 7));
  }

  TEST_CASE("/auth/user accepts an empty password as an empty string, not as absent") {
    AuthRequest r = parse_ok(Endpoint::user, "username=alice&password=");
    REQUIRE(r.password.has_value());
    CHECK(r.password->empty());
  }

  TEST_CASE("/auth/user without a password (x509/EXTERNAL) has no password") {
    AuthRequest r = parse_ok(Endpoint::user, "username=alice");
    CHECK(r.username == "alice");
    CHECK_FALSE(r.password.has_value());
  }

  TEST_CASE("/auth/user ignores extra credentials such as client_id") {
    AuthRequest r =
        parse_ok(Endpoint::user, "username=alice&password=secret&client_id=mqtt-1&unknown_key=x");
    CHECK(r.username == "alice");
    REQUIRE(r.password.has_value());
    CHECK(*r.password == "secret");
  }

  TEST_CASE("/auth/user refuses a missing username, naming it") {
    std::string error = parse_error(Endpoint::user, "password=secret");
    CHECK(contains(error, "missing"));
    CHECK(contains(error, "'username'"));
  }

  TEST_CASE("/auth/user refuses a repeated username") {
    std::string error = parse_error(Endpoint::user, "username=alice&username=bob&password=x");
    CHECK(error == "repeated parameter 'username'");
  }

  TEST_CASE("/auth/user refuses a repeated password, even when both are equal") {
    CHECK(parse_error(Endpoint::user, "username=alice&password=a&password=b") ==
          "repeated parameter 'password'");
    CHECK(parse_error(Endpoint::user, "username=alice&password=a&password=a") ==
          "repeated parameter 'password'");
  }

  TEST_CASE("/auth/vhost parses username, vhost and ip, ignoring tags") {
    AuthRequest r = parse_ok(Endpoint::vhost, kVhost);
    CHECK(r.username == "alice");
    CHECK(r.vhost == "/");
    CHECK(r.client_ip == "::ffff:127.0.0.1");
    CHECK_FALSE(r.password.has_value());
  }

  TEST_CASE("/auth/vhost ignores context keys of later brokers and repeated unknown keys") {
    AuthRequest r = parse_ok(Endpoint::vhost,
                             "username=alice&vhost=prod&ip=10.0.0.1&tags=a+b&client_id=c1&tags=x&"
                             "variable_map.client_id=c1");
    CHECK(r.username == "alice");
    CHECK(r.vhost == "prod");
    CHECK(r.client_ip == "10.0.0.1");
  }

  TEST_CASE("/auth/vhost refuses a missing username or vhost, naming it") {
    check_each_missing_is_named(Endpoint::vhost, kVhost, {"username", "vhost"});
  }

  TEST_CASE("/auth/vhost refuses a repeated vhost or ip") {
    CHECK(parse_error(Endpoint::vhost, std::string(kVhost) + "&vhost=other") ==
          "repeated parameter 'vhost'");
    CHECK(parse_error(Endpoint::vhost, std::string(kVhost) + "&ip=10.0.0.1") ==
          "repeated parameter 'ip'");
  }

  TEST_CASE("/auth/resource parses every field of RabbitMQ 3.10's request") {
    AuthRequest r = parse_ok(Endpoint::resource, kResource);
    CHECK(r.username == "alice");
    CHECK(r.vhost == "/");
    CHECK(r.resource == ResourceKind::exchange);
    CHECK(r.name == "exchange/alice/test");
    CHECK(r.permission == Permission::configure);
    CHECK(r.routing_key.empty());
  }

  TEST_CASE("/auth/resource parses queues and each permission") {
    AuthRequest q = parse_ok(Endpoint::resource,
                             "username=alice&vhost=%2F&resource=queue&name=queue%2Falice%2Fq1&"
                             "permission=write&tags=");
    CHECK(q.resource == ResourceKind::queue);
    CHECK(q.name == "queue/alice/q1");
    CHECK(q.permission == Permission::write);
    AuthRequest read = parse_ok(Endpoint::resource,
                                "username=alice&vhost=%2F&resource=queue&name=queue%2Falice%2Fq1&"
                                "permission=read&tags=");
    CHECK(read.permission == Permission::read);
  }

  TEST_CASE("/auth/resource ignores context keys of later brokers") {
    AuthRequest r = parse_ok(Endpoint::resource, std::string(kResource) +
                                                     "&client_id=c1&variable_map.username=x&"
                                                     "tags=more");
    CHECK(r.name == "exchange/alice/test");
  }

  TEST_CASE("/auth/resource refuses each missing required parameter, naming it") {
    check_each_missing_is_named(Endpoint::resource, kResource,
                                {"username", "vhost", "resource", "name", "permission"});
  }

  TEST_CASE("/auth/resource refuses each repeated required parameter, naming it") {
    for (std::string_view key : {"username", "vhost", "resource", "name", "permission"}) {
      CAPTURE(key);
      std::string text = std::string(kResource) + "&" + std::string(key) + "=x";
      CHECK(parse_error(Endpoint::resource, text) ==
            "repeated parameter '" + std::string(key) + "'");
    }
    // Repeated with the same value is still refused.
    CHECK(
        parse_error(Endpoint::resource, std::string(kResource) + "&name=exchange%2Falice%2Ftest") ==
        "repeated parameter 'name'");
  }

  TEST_CASE("/auth/resource refuses resource=topic, which belongs to /auth/topic") {
    check_each_value_is_refused(Endpoint::resource, kResource, "resource", {"topic"});
  }

  TEST_CASE("/auth/resource refuses an unknown resource kind such as stream") {
    struct Case {
      std::string_view encoded;
      std::string_view decoded;
    };
    for (Case c : {Case{"stream", "stream"}, Case{"Exchange", "Exchange"}, Case{"", ""},
                   Case{"exchange+", "exchange "}, Case{"vhost", "vhost"}}) {
      CAPTURE(c.encoded);
      std::string error = parse_error(Endpoint::resource, with(kResource, "resource", c.encoded));
      CHECK(contains(error, "'" + std::string(c.decoded) + "'"));
    }
  }

  TEST_CASE("/auth/resource refuses an unknown permission word") {
    check_each_value_is_refused(Endpoint::resource, kResource, "permission",
                                {"delete", "Read", "", "*", "configure,read"});
  }

  TEST_CASE("/auth/topic parses every field of RabbitMQ 3.10's request") {
    AuthRequest r = parse_ok(Endpoint::topic, kTopic);
    CHECK(r.username == "alice");
    CHECK(r.vhost == "/");
    CHECK(r.resource == ResourceKind::topic);
    CHECK(r.name == "exchange/alice/test");
    CHECK(r.permission == Permission::read);
    CHECK(r.routing_key == "a.*.c");
  }

  TEST_CASE("/auth/topic parses a write check and an empty routing key") {
    AuthRequest w = parse_ok(Endpoint::topic,
                             "username=alice&vhost=%2F&resource=topic&name=exchange%2Falice%2Ftest&"
                             "permission=write&tags=&routing_key=a.b.c&variable_map.username="
                             "alice&variable_map.vhost=%2F");
    CHECK(w.permission == Permission::write);
    CHECK(w.routing_key == "a.b.c");
    AuthRequest empty = parse_ok(Endpoint::topic,
                                 "username=alice&vhost=%2F&resource=topic&name=x&permission=write&"
                                 "routing_key=");
    CHECK(empty.routing_key.empty());
  }

  TEST_CASE("/auth/topic accepts the plugin's own test query with later context keys") {
    AuthRequest r = parse_ok(Endpoint::topic,
                             "username=guest&vhost=%2F&resource=topic&name=amp.topic&permission="
                             "write&routing_key=a.b.c&variable_map.username=guest&variable_map."
                             "vhost=other-vhost&variable_map.client_id=c1");
    CHECK(r.username == "guest");
    CHECK(r.name == "amp.topic");
    CHECK(r.routing_key == "a.b.c");
  }

  TEST_CASE("/auth/topic refuses each missing required parameter, routing_key included") {
    check_each_missing_is_named(
        Endpoint::topic, kTopic,
        {"username", "vhost", "resource", "name", "permission", "routing_key"});
  }

  TEST_CASE("/auth/topic refuses a repeated routing_key") {
    CHECK(parse_error(Endpoint::topic, std::string(kTopic) + "&routing_key=x") ==
          "repeated parameter 'routing_key'");
  }

  TEST_CASE("/auth/topic refuses resource=exchange or queue") {
    check_each_value_is_refused(Endpoint::topic, kTopic, "resource", {"exchange", "queue"});
  }

  TEST_CASE("/auth/topic refuses permission=configure, which no topic check asks") {
    check_each_value_is_refused(Endpoint::topic, kTopic, "permission", {"configure"});
  }

  TEST_CASE("/auth/topic refuses an unknown permission or resource") {
    check_each_value_is_refused(Endpoint::topic, kTopic, "permission", {"publish"});
    check_each_value_is_refused(Endpoint::topic, kTopic, "resource", {"stream"});
  }

  TEST_CASE("each captured RabbitMQ 3.10 request parses for its path with the right name") {
    std::ifstream in(AUTHSVC_TESTDATA "/rabbitmq-3.10-requests.jsonl");
    REQUIRE(in.good());
    int parsed = 0;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      CAPTURE(line);
      nlohmann::json j = nlohmann::json::parse(line);
      std::optional<Endpoint> endpoint = endpoint_from_path(j.at("path").get<std::string>());
      REQUIRE(endpoint.has_value());
      Form form = decode_ok(j.at("params").get<std::string>());
      std::string error;
      std::optional<AuthRequest> request = parse_auth_request(*endpoint, form, &error);
      CAPTURE(error);
      REQUIRE(request.has_value());
      CHECK(request->username == *form.find("username"));
      if (*endpoint != Endpoint::user) CHECK(request->vhost == "/");
      if (*endpoint == Endpoint::resource || *endpoint == Endpoint::topic) {
        CHECK(request->name == *form.find("name"));
        CHECK(to_string(request->resource) == *form.find("resource"));
        CHECK(to_string(request->permission) == *form.find("permission"));
      }
      ++parsed;
    }
    CHECK(parsed >= 50);
  }
}

}  // namespace
}  // namespace authsvc
