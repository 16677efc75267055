#include "authsvc/web/run_web.h"

#include <doctest/doctest.h>

namespace authsvc {
namespace {

WebRunOptions dev(const std::string& listen, const std::string& public_url) {
  WebRunOptions options;
  options.listen = listen;
  options.web.public_url = public_url;
  options.web.dev_login = true;
  return options;
}

WebRunOptions oidc(const std::string& listen, const std::string& public_url) {
  WebRunOptions options;
  options.listen = listen;
  options.web.public_url = public_url;
  options.oidc = OidcSettings{"https://idp.example/", "authsvc", "secret"};
  return options;
}

}  // namespace

TEST_CASE("authsvc web refuses a development sign-in anywhere but on loopback") {
  CHECK(web_options_problem(dev("127.0.0.1:8080", "http://127.0.0.1:8080")).empty());
  CHECK(web_options_problem(dev("[::1]:8080", "http://localhost:8080")).empty());
  CHECK(web_options_problem(dev("0.0.0.0:8080", "http://127.0.0.1:8080"))
            .find("listens on a loopback address only") != std::string::npos);
  // Published through a proxy on the same host: refused too.
  CHECK(web_options_problem(dev("127.0.0.1:8080", "https://pulse.example.org"))
            .find("--public-url must be a loopback address") != std::string::npos);
  WebRunOptions proxied = dev("127.0.0.1:8080", "http://127.0.0.1:8080");
  proxied.web.trusted_proxies = {"127.0.0.1"};
  CHECK(web_options_problem(proxied).find("no --trusted-proxy") != std::string::npos);
  WebRunOptions both = dev("127.0.0.1:8080", "http://127.0.0.1:8080");
  both.oidc = OidcSettings{"https://idp.example/", "authsvc", "secret"};
  CHECK(web_options_problem(both).find("one or the other") != std::string::npos);
}

TEST_CASE("authsvc web wants an https public URL, a provider, and patterns that compile") {
  CHECK(web_options_problem(oidc("127.0.0.1:8080", "https://pulse.example.org")).empty());
  CHECK(web_options_problem(oidc("127.0.0.1:8080", "http://pulse.example.org"))
            .find("must be https") != std::string::npos);
  CHECK(web_options_problem(oidc("127.0.0.1:8080", "https://pulse.example.org/accounts"))
            .find("is not http(s)://HOST[:PORT]") != std::string::npos);
  CHECK(
      web_options_problem(oidc("nonsense", "https://pulse.example.org")).find("is not HOST:PORT") !=
      std::string::npos);
  WebRunOptions none = oidc("127.0.0.1:8080", "https://pulse.example.org");
  none.oidc.reset();
  CHECK(web_options_problem(none).find("--dev-login") != std::string::npos);
  WebRunOptions reserved = oidc("127.0.0.1:8080", "https://pulse.example.org");
  reserved.web.reserve = {"taskcluster-(.*"};
  CHECK(web_options_problem(reserved).rfind("--reserve 'taskcluster-(.*' is not a pattern", 0) ==
        0);
  WebRunOptions proxied = oidc("127.0.0.1:8080", "https://pulse.example.org");
  proxied.web.trusted_proxies = {"10.0.0.0/8", "::1"};
  CHECK(web_options_problem(proxied).empty());
  proxied.web.trusted_proxies.push_back("proxy.internal");
  CHECK(web_options_problem(proxied) ==
        "--trusted-proxy 'proxy.internal' is not an address or ADDRESS/BITS: not an IPv4 or IPv6 "
        "address");
}

TEST_CASE("the public authority is what a browser sends as Host") {
  WebOptions options;
  options.public_url = "https://Pulse.Example.org";
  CHECK(options.public_authority() == "pulse.example.org");
  options.public_url = "https://pulse.example.org:443";
  CHECK(options.public_authority() == "pulse.example.org");
  options.public_url = "https://pulse.example.org:8443";
  CHECK(options.public_authority() == "pulse.example.org:8443");
  options.public_url = "http://127.0.0.1:8080";
  CHECK(options.public_authority() == "127.0.0.1:8080");
  options.public_url = "http://[::1]:80";
  CHECK(options.public_authority() == "[::1]");
  options.public_url = "https://pulse.example.org";
  CHECK(options.is_public_host("pulse.example.org"));
  CHECK(options.is_public_host("PULSE.example.org:443"));
  CHECK_FALSE(options.is_public_host("pulse.example.org:8443"));
  CHECK_FALSE(options.is_public_host("pulse.example.org.evil"));
}

}  // namespace authsvc
