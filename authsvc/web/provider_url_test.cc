#include "authsvc/web/provider_url.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_SUITE("provider_url") {
  TEST_CASE("https URLs, with their path and query kept") {
    std::string error;
    std::optional<ProviderUrl> u =
        parse_provider_url("https://id.example.org/oauth2/authorize?tenant=a%20b&x", false, &error);
    REQUIRE(u);
    CHECK(u->server.scheme == "https");
    CHECK(u->server.host == "id.example.org");
    CHECK(u->server.port == 443);
    CHECK(u->server.path == "/oauth2/authorize");
    CHECK(u->query == "tenant=a%20b&x");
    CHECK(u->target() == "/oauth2/authorize?tenant=a%20b&x");
    u = parse_provider_url("https://id.example.org:8443", false, &error);
    REQUIRE(u);
    CHECK(u->server.port == 8443);
    CHECK(u->target() == "/");
  }

  TEST_CASE("plain http only where allowed, and then only on a loopback host") {
    std::string error;
    CHECK_FALSE(parse_provider_url("http://127.0.0.1:9000/token", false, &error));
    CHECK(error == "it must be https");
    for (const char* loopback :
         {"http://127.0.0.1:9000/token", "http://127.8.9.10/", "http://localhost:9000",
          "http://LOCALHOST", "http://[::1]:9000/"}) {
      CAPTURE(loopback);
      CHECK(parse_provider_url(loopback, true, &error));
    }
    for (const char* remote :
         {"http://id.example.org/token", "http://10.0.0.1/", "http://128.0.0.1/", "http://[::2]/",
          "http://localhost.example.org/", "http://[::ffff:127.0.0.1]/"}) {
      CAPTURE(remote);
      CHECK_FALSE(parse_provider_url(remote, true, &error));
      CHECK(error == "plain http is accepted only on a loopback host");
    }
  }

  TEST_CASE("what is not an absolute https URL without credentials or fragment is refused") {
    for (const char* bad :
         {"", "/token", "id.example.org/token", "ftp://id.example.org/", "https://",
          "https://user:pw@id.example.org/", "https://h/#f", "https://h/?a=#f", "https://h/?a b",
          "https://h/?a\x01", "https://h:0/", "https://h:99999/"}) {
      CAPTURE(bad);
      std::string error;
      CHECK_FALSE(parse_provider_url(bad, true, &error));
      CHECK_FALSE(error.empty());
    }
  }

  TEST_CASE("is_loopback_host") {
    CHECK(is_loopback_host("127.0.0.1"));
    CHECK(is_loopback_host("127.255.255.254"));
    CHECK(is_loopback_host("::1"));
    CHECK(is_loopback_host("localhost"));
    CHECK_FALSE(is_loopback_host("126.0.0.1"));
    CHECK_FALSE(is_loopback_host("0.0.0.0"));
    CHECK_FALSE(is_loopback_host("::"));
    CHECK_FALSE(is_loopback_host("example.org"));
    CHECK_FALSE(is_loopback_host(""));
  }
}

}  // namespace authsvc
