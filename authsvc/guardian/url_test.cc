#include "authsvc/guardian/url.h"

#include <doctest/doctest.h>

namespace authsvc {
namespace {

std::optional<ServerUrl> parse(std::string_view url, std::string* error) {
  return parse_server_url(url, {"http", "https"}, error);
}

}  // namespace

TEST_SUITE("url") {
  TEST_CASE("parse_server_url takes scheme, host, port and path, with the scheme's port") {
    std::string error;
    std::optional<ServerUrl> u = parse("HTTP://Broker.example:15672/rabbit/", &error);
    REQUIRE(u);
    CHECK(u->scheme == "http");
    CHECK(u->host == "Broker.example");
    CHECK(u->port == 15672);
    CHECK(u->path == "/rabbit/");
    CHECK(u->origin() == "http://Broker.example:15672");
    u = parse("https://[::1]", &error);
    REQUIRE(u);
    CHECK(u->host == "::1");
    CHECK(u->port == 443);
    CHECK(u->path == "/");
    CHECK(u->origin() == "https://[::1]:443");
    u = parse_server_url("smtps://mail.example.org", {"smtp", "smtps"}, &error);
    REQUIRE(u);
    CHECK(u->port == 465);
    // AMQP, which libcurl has no protocol for: the same rules, its ports.
    u = parse_server_url("AMQP://broker.example", {"amqp", "amqps"}, &error);
    REQUIRE(u);
    CHECK(u->scheme == "amqp");
    CHECK(u->port == 5672);
    u = parse_server_url("amqps://[::1]:5999", {"amqp", "amqps"}, &error);
    REQUIRE(u);
    CHECK(u->host == "::1");
    CHECK(u->port == 5999);
    CHECK(parse_server_url("amqps://h", {"amqp", "amqps"}, &error)->port == 5671);
    CHECK_FALSE(parse_server_url("amqp://u:p@h", {"amqp", "amqps"}, &error));
    CHECK(error.find("credentials") != std::string::npos);
    // An unknown scheme is refused by the list, whatever libcurl knows.
    CHECK_FALSE(parse_server_url("gopher://h", {"amqp", "amqps"}, &error));
    CHECK(error.find("the scheme must be amqp or amqps") != std::string::npos);
  }

  TEST_CASE("parse_server_url refuses what is not a plain server URL, and says why") {
    struct Bad {
      const char* url;
      const char* why;
    };
    for (Bad bad : {Bad{"", ""},
                    Bad{"127.0.0.1:15672", ""},
                    Bad{"ftp://host", "scheme"},
                    Bad{"smtp://host", "scheme"},
                    Bad{"http://", ""},
                    Bad{"http://:1", ""},
                    Bad{"http://host:", "empty port"},
                    Bad{"http://[::1]:", "empty port"},
                    Bad{"http://host:0", "bad port"},
                    Bad{"http://host:65536", ""},
                    Bad{"http://host:12a", ""},
                    Bad{"http://u:p@host", "credentials"},
                    Bad{"http://u@host", "credentials"},
                    Bad{"http://@host", "credentials"},
                    Bad{"http://host/a?x=1", "query"},
                    Bad{"http://host?", "query"},
                    Bad{"http://host/#f", "fragment"},
                    Bad{"http://ho st", ""},
                    Bad{"http://[::1", ""},
                    Bad{"http://[fe80::1%25eth0]", "zone"}}) {
      CAPTURE(bad.url);
      std::string error;
      CHECK_FALSE(parse(bad.url, &error));
      CHECK_FALSE(error.empty());
      CHECK(error.find(bad.why) != std::string::npos);
    }
  }

  TEST_CASE("redact_url hides whatever stands before the host's '@'") {
    CHECK(redact_url("http://guardian:s3cret@h:15672/p") == "http://***@h:15672/p");
    CHECK(redact_url("smtp://;auth=PLAIN@h") == "smtp://***@h");
    CHECK(redact_url("guardian:s3cret@h:15672") == "***@h:15672");
    // A password typed with a raw '/', '?', '#' or '@' in it.
    CHECK(redact_url("http://u:a/b?c#d@e@h") == "http://***@h");
    CHECK(redact_url("http://h:15672/rabbit") == "http://h:15672/rabbit");
    CHECK(redact_url("") == "");
  }
}

}  // namespace authsvc
