#include "authsvc/web/oidc_flow.h"

#include <doctest/doctest.h>

#include <map>
#include <set>

#include "authsvc/core/form.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

const char kDiscovery[] = R"({
  "issuer": "https://id.example.org",
  "authorization_endpoint": "https://id.example.org/authorize",
  "token_endpoint": "https://id.example.org/token",
  "jwks_uri": "https://id.example.org/jwks",
  "userinfo_endpoint": "https://id.example.org/me",
  "response_types_supported": ["code", "id_token"],
  "code_challenge_methods_supported": ["S256"],
  "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
  "scopes_supported": ["openid", "email"]})";

// kDiscovery with `member` (a JSON member, or "" to drop it) in place of
// the member named `name`.
std::string discovery_with(const std::string& name, const std::string& member) {
  std::string doc = kDiscovery;
  std::size_t start = doc.find("\"" + name + "\"");
  REQUIRE(start != std::string::npos);
  std::size_t end = doc.find(",\n", start);
  if (end == std::string::npos) {
    end = doc.rfind('}');
    doc.replace(start, end - start, member.empty() ? "\"x\": 0" : member);
  } else {
    doc.replace(start, end + 2 - start, member.empty() ? "" : member + ",\n");
  }
  return doc;
}

std::string http_discovery(const std::string& base, const std::string& endpoints_base) {
  return R"({"issuer":")" + base + R"(","authorization_endpoint":")" + endpoints_base +
         R"(/authorize","token_endpoint":")" + endpoints_base + R"(/token","jwks_uri":")" +
         endpoints_base + R"(/jwks"})";
}

ProviderMetadata metadata(const std::string& authorization_endpoint) {
  return {.issuer = "https://id.example.org",
          .authorization_endpoint = authorization_endpoint,
          .token_endpoint = "https://id.example.org/token",
          .jwks_uri = "https://id.example.org/jwks",
          .userinfo_endpoint = ""};
}

// The query of `url` as a map, each parameter once.
std::map<std::string, std::string> query_of(const std::string& url) {
  std::size_t q = url.find('?');
  REQUIRE(q != std::string::npos);
  Form form = testing::decode_ok(std::string_view(url).substr(q + 1));
  std::map<std::string, std::string> out;
  for (const FormField& f : form.fields()) {
    CAPTURE(f.key);
    CHECK(form.count(f.key) == 1);
    out[std::string(f.key)] = std::string(f.value);
  }
  return out;
}

}  // namespace

TEST_SUITE("oidc_flow") {
  TEST_CASE("a discovery document gives the endpoints") {
    ProviderMetadata m = parse_discovery(kDiscovery, "https://id.example.org");
    CHECK(m.issuer == "https://id.example.org");
    CHECK(m.authorization_endpoint == "https://id.example.org/authorize");
    CHECK(m.token_endpoint == "https://id.example.org/token");
    CHECK(m.jwks_uri == "https://id.example.org/jwks");
    CHECK(m.userinfo_endpoint == "https://id.example.org/me");
    CHECK(parse_discovery(discovery_with("userinfo_endpoint", ""), "https://id.example.org")
              .userinfo_endpoint == "");
    // The lists are optional.
    std::string minimal = discovery_with("response_types_supported", "");
    minimal = minimal.substr(0, minimal.find("\"code_challenge")) + "\"x\": 0}";
    CHECK(parse_discovery(minimal, "https://id.example.org").jwks_uri ==
          "https://id.example.org/jwks");
  }

  TEST_CASE("the document's issuer must be the expected one exactly") {
    CHECK_THROWS_WITH_AS(parse_discovery(kDiscovery, "https://id.example.org/"),
                         doctest::Contains("is not the one asked for"), OidcError);
    CHECK_THROWS_AS(parse_discovery(kDiscovery, "https://ID.example.org"), OidcError);
    CHECK_THROWS_AS(
        parse_discovery(discovery_with("issuer", R"("issuer": "https://evil.example.org")"),
                        "https://id.example.org"),
        OidcError);
    CHECK_THROWS_AS(parse_discovery(discovery_with("issuer", ""), "https://id.example.org"),
                    OidcError);
  }

  TEST_CASE("plain http is refused unless the issuer is http on a loopback host") {
    CHECK_THROWS_WITH_AS(
        parse_discovery(http_discovery("http://id.example.org", "http://id.example.org"),
                        "http://id.example.org"),
        doctest::Contains("loopback"), OidcError);
    CHECK_THROWS_AS(parse_discovery(http_discovery("http://10.1.2.3:8080", "http://10.1.2.3:8080"),
                                    "http://10.1.2.3:8080"),
                    OidcError);
    for (const char* loopback :
         {"http://127.0.0.1:9000", "http://localhost:9000", "http://[::1]:9000"}) {
      CAPTURE(loopback);
      ProviderMetadata m = parse_discovery(http_discovery(loopback, loopback), loopback);
      CHECK(m.token_endpoint == std::string(loopback) + "/token");
    }
    // A loopback issuer does not make http fine elsewhere.
    CHECK_THROWS_AS(
        parse_discovery(http_discovery("http://127.0.0.1:9000", "http://id.example.org"),
                        "http://127.0.0.1:9000"),
        OidcError);
    // Nor does an https issuer make any http endpoint fine, loopback or not.
    CHECK_THROWS_WITH_AS(
        parse_discovery(
            discovery_with("token_endpoint", R"("token_endpoint": "http://127.0.0.1:9000/token")"),
            "https://id.example.org"),
        doctest::Contains("token_endpoint 'http://127.0.0.1:9000/token': it must be https"),
        OidcError);
  }

  TEST_CASE("endpoints must be absolute URLs, and the lists must allow what the flow uses") {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"jwks_uri", ""},
        {"token_endpoint", R"("token_endpoint": "/token")"},
        {"token_endpoint", R"("token_endpoint": 7)"},
        {"authorization_endpoint", R"("authorization_endpoint": "https://id.example.org/a#x")"},
        {"userinfo_endpoint", R"("userinfo_endpoint": "ftp://id.example.org/me")"},
        {"response_types_supported", R"("response_types_supported": ["id_token"])"},
        {"response_types_supported", R"("response_types_supported": "code")"},
        {"code_challenge_methods_supported", R"("code_challenge_methods_supported": ["plain"])"},
        {"token_endpoint_auth_methods_supported",
         R"("token_endpoint_auth_methods_supported": ["private_key_jwt"])"},
    };
    for (const auto& [name, member] : bad) {
      std::string doc = discovery_with(name, member);
      CAPTURE(doc);
      CHECK_THROWS_AS(parse_discovery(doc, "https://id.example.org"), OidcError);
    }
    for (const char* doc : {"", "[]", "not json"}) {
      CHECK_THROWS_AS(parse_discovery(doc, "https://id.example.org"), OidcError);
    }
    CHECK_THROWS_AS(parse_discovery(kDiscovery, "https://id.example.org?tenant=a"), OidcError);
  }

  TEST_CASE("the PKCE challenge is RFC 7636's Appendix B for its verifier") {
    CHECK(pkce_s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") ==
          "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    CHECK(pkce_s256_challenge(std::string(128, '~')).size() == 43);
    for (const std::string& bad : {std::string(42, 'a'), std::string(129, 'a'),
                                   std::string(42, 'a') + "+", std::string(42, 'a') + "="}) {
      CHECK_THROWS_AS(pkce_s256_challenge(bad), OidcError);
    }
  }

  TEST_CASE("a pending sign-in is three fresh 256-bit secrets") {
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) {
      PendingSignIn p = new_pending_sign_in();
      for (const std::string* s : {&p.state, &p.nonce, &p.code_verifier}) {
        CHECK(s->size() == 43);
        seen.insert(*s);
      }
      CHECK(pkce_s256_challenge(p.code_verifier).size() == 43);
    }
    CHECK(seen.size() == 150);
  }

  TEST_CASE("the authorization URL carries each parameter once, encoded, S256 challenge") {
    PendingSignIn p{.state = "st-1",
                    .nonce = "no-2",
                    .code_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"};
    std::string url =
        authorization_url(metadata("https://id.example.org/authorize"), "authsvc web&co",
                          "https://pulse.example.org/auth/callback?x=1&y=é", p);
    CHECK(url.rfind("https://id.example.org/authorize?", 0) == 0);
    CHECK(url.find(' ') == std::string::npos);
    std::map<std::string, std::string> q = query_of(url);
    const std::map<std::string, std::string> expected = {
        {"response_type", "code"},
        {"client_id", "authsvc web&co"},
        {"redirect_uri", "https://pulse.example.org/auth/callback?x=1&y=é"},
        {"scope", "openid email"},
        {"state", "st-1"},
        {"nonce", "no-2"},
        {"code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
        {"code_challenge_method", "S256"}};
    CHECK(q == expected);
    CHECK(query_of(authorization_url(metadata("https://id.example.org/authorize"), "c", "https://r",
                                     p, "openid email groups"))
              .at("scope") == "openid email groups");
  }

  TEST_CASE("the authorization endpoint's own query is kept, and may not repeat a parameter") {
    PendingSignIn p = new_pending_sign_in();
    for (const char* endpoint : {"https://id.example.org/authorize?tenant=a%20b",
                                 "https://id.example.org/authorize?tenant=a%20b&"}) {
      CAPTURE(endpoint);
      std::string url = authorization_url(metadata(endpoint), "c", "https://r", p);
      CHECK(url.rfind("https://id.example.org/authorize?tenant=a%20b&response_type=code&", 0) == 0);
      std::map<std::string, std::string> q = query_of(url);
      CHECK(q.at("tenant") == "a b");
      CHECK(q.at("state") == p.state);
      CHECK(q.size() == 9);
    }
    CHECK_THROWS_AS(authorization_url(metadata("https://id.example.org/a?state=x"), "c", "r", p),
                    OidcError);
    CHECK_THROWS_AS(authorization_url(metadata("https://id.example.org/a?x=1&scope"), "c", "r", p),
                    OidcError);
  }

  TEST_CASE("a token response needs an id_token, and a Bearer token_type if it names one") {
    TokenResponse r = parse_token_response(
        R"({"access_token":"at-1","token_type":"Bearer","expires_in":3600,"id_token":"a.b.c"})");
    CHECK(r.id_token == "a.b.c");
    CHECK(r.access_token == "at-1");
    CHECK(parse_token_response(R"({"id_token":"a.b.c","token_type":"bearer"})").access_token == "");
    CHECK(parse_token_response(R"({"id_token":"a.b.c","token_type":"BEARER"})").id_token ==
          "a.b.c");
    for (const char* bad :
         {"", "[]", R"({"access_token":"at-1","token_type":"Bearer"})", R"({"id_token":""})",
          R"({"id_token":7})", R"({"id_token":"a.b.c","token_type":"mac"})",
          R"({"id_token":"a.b.c","token_type":1})", R"({"id_token":"a.b.c","access_token":{}})"}) {
      CAPTURE(bad);
      CHECK_THROWS_AS(parse_token_response(bad), OidcError);
    }
    // Tokens stay out of the message.
    CHECK_THROWS_WITH(parse_token_response(R"({"id_token":"a.b.c","token_type":"mac"})"),
                      "OIDC token response: token_type 'mac' is not Bearer");
  }

  TEST_CASE("userinfo about another subject is refused") {
    IdentityClaims c = parse_userinfo(
        R"({"sub":"248289761001","email":"jane@example.org","email_verified":true,"groups":["a"]})",
        "248289761001");
    CHECK(c.email == "jane@example.org");
    CHECK(c.email_verified == true);
    CHECK(c.claims.at("groups") == std::vector<std::string>{"a"});
    CHECK_THROWS_WITH_AS(parse_userinfo(R"({"sub":"someone-else","email":"x@y"})", "248289761001"),
                         "OIDC userinfo: its subject (sub) is not the ID token's", OidcError);
    CHECK_THROWS_AS(parse_userinfo(R"({"email":"x@y"})", "248289761001"), OidcError);
  }
}

}  // namespace authsvc
