// Against an in-process fake OpenID provider (cpp-httplib): discovery,
// JWKS, token and userinfo endpoints that check what a real provider
// checks (client_secret_basic, the code, redirect_uri, PKCE, the access
// token) and sign ID tokens with libjwt and keys made in the test.
#include "authsvc/web/oidc_client.h"

#include <doctest/doctest.h>
#include <httplib.h>
#include <openssl/evp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "authsvc/core/base64url.h"
#include "authsvc/core/form.h"
#include "authsvc/core/token.h"
#include "authsvc/web/jwt_test_keys.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using std::chrono::system_clock;
using testing::TestKey;

const char kClientId[] = "pulse web/ui";
const char kClientSecret[] = "s3cret:pw+/";
// base64("pulse%20web%2Fui:s3cret%3Apw%2B%2F"), by Python's base64 module:
// each part form-encoded before they are joined (RFC 6749 2.3.1).
const char kBasicAuth[] = "Basic cHVsc2UlMjB3ZWIlMkZ1aTpzM2NyZXQlM0FwdyUyQiUyRg==";
const char kRedirectUri[] = "http://127.0.0.1:8080/auth/callback";
const char kSubject[] = "248289761001";

const TestKey& key_a() {
  static const TestKey key = TestKey::rsa("key-a");
  return key;
}
const TestKey& key_b() {
  static const TestKey key = TestKey::ec("key-b");
  return key;
}
const TestKey& key_c() {
  static const TestKey key = TestKey::ec("key-c");
  return key;
}

// SHA-256, written here rather than through the code under test.
std::string s256(const std::string& verifier) {
  unsigned char digest[32];
  unsigned int size = 0;
  EVP_Digest(verifier.data(), verifier.size(), digest, &size, EVP_sha256(), nullptr);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

std::map<std::string, std::string> form_fields(std::string_view text) {
  std::string error;
  std::optional<Form> form = Form::decode(text, &error);
  std::map<std::string, std::string> out;
  if (!form) return out;
  for (const FormField& f : form->fields()) out[std::string(f.key)] = std::string(f.value);
  if (out.size() != form->fields().size()) out.clear();  // a repeated field: refused
  return out;
}

struct Grant {
  std::string nonce, challenge, redirect_uri;
};

// What the fake checks goes wrong in its own thread: it answers 400 with
// {"error": "fake: ..."} (which OidcClient leaves out of its message, so
// the fake also keeps the reason for the test to see).
class FakeProvider {
 public:
  FakeProvider() {
    server_.Get("/.well-known/openid-configuration",
                [this](const httplib::Request&, httplib::Response& res) {
                  std::lock_guard lock(mutex_);
                  ++hits_["discovery"];
                  if (discovery_answer_) return answer(res, *discovery_answer_);
                  res.set_content(discovery().dump(), "application/json");
                });
    server_.Get("/jwks", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      ++hits_["jwks"];
      if (jwks_chunked_bytes_ > 0) {
        std::size_t total = jwks_chunked_bytes_;
        res.set_chunked_content_provider("application/json",
                                         [total](std::size_t offset, httplib::DataSink& sink) {
                                           if (offset >= total) {
                                             sink.done();
                                             return true;
                                           }
                                           std::string chunk(64 * 1024, ' ');
                                           return sink.write(chunk.data(), chunk.size());
                                         });
        return;
      }
      std::vector<std::string> jwks;
      for (const TestKey* key : published_) jwks.push_back(key->jwk(R"("use":"sig")"));
      res.set_content(testing::jwks_of(jwks), "application/json");
    });
    server_.Post("/token", [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds delay;
      {
        std::lock_guard lock(mutex_);
        delay = token_delay_;
      }
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      std::lock_guard lock(mutex_);
      ++hits_["token"];
      token_authorization_ = req.get_header_value("Authorization");
      token_body_ = form_fields(req.body);
      if (token_answer_) return answer(res, *token_answer_);
      if (std::string why = check_token_request(req); !why.empty()) {
        problems_.push_back(why);
        return answer(res, {400, R"({"error":"fake: )" + why + R"("})"});
      }
      Grant grant = codes_.at(token_body_["code"]);
      codes_.erase(token_body_["code"]);
      json claims = {{"iss", issuer()},
                     {"sub", kSubject},
                     {"aud", kClientId},
                     {"iat", now_seconds() - 5},
                     {"exp", now_seconds() + 600},
                     {"nonce", grant.nonce}};
      for (const auto& [name, value] : id_token_extra_.items()) claims[name] = value;
      std::string access_token = generate_token();
      testing::record_issued_token(access_token);
      access_tokens_.push_back(access_token);
      json body = {{"access_token", access_token},
                   {"token_type", "Bearer"},
                   {"expires_in", 3600},
                   {"id_token", signer_->sign(claims.dump())}};
      res.set_content(body.dump(), "application/json");
    });
    server_.Get("/me", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      ++hits_["userinfo"];
      std::string auth = req.get_header_value("Authorization");
      if (auth.rfind("Bearer ", 0) != 0 || std::find(access_tokens_.begin(), access_tokens_.end(),
                                                     auth.substr(7)) == access_tokens_.end()) {
        problems_.push_back("userinfo without a valid access token");
        return answer(res, {401, R"({"error":"invalid_token"})"});
      }
      res.set_content(userinfo_.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeProvider() {
    server_.stop();
    thread_.join();
  }

  std::string issuer() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The provider's side of the browser's visit to `authorization_url`:
  // checks its parameters and returns the code it would redirect back with.
  std::string authorize(const std::string& authorization_url) {
    std::size_t q = authorization_url.find('?');
    REQUIRE(q != std::string::npos);
    CHECK(authorization_url.substr(0, q) == issuer() + "/authorize");
    std::map<std::string, std::string> p = form_fields(authorization_url.substr(q + 1));
    CHECK(p["response_type"] == "code");
    CHECK(p["client_id"] == kClientId);
    CHECK(p["code_challenge_method"] == "S256");
    CHECK(p["scope"] == "openid email");
    CHECK(p["code_challenge"].size() == 43);
    CHECK_FALSE(p["state"].empty());
    std::string code = generate_token();
    testing::record_issued_token(code);
    std::lock_guard lock(mutex_);
    codes_[code] = {p["nonce"], p["code_challenge"], p["redirect_uri"]};
    return code;
  }

  // Signs with `key` from now on, and publishes `published`.
  void rotate(const TestKey& key, std::vector<const TestKey*> published) {
    std::lock_guard lock(mutex_);
    signer_ = &key;
    published_ = std::move(published);
  }
  void id_token_extra(json extra) {
    std::lock_guard lock(mutex_);
    id_token_extra_ = std::move(extra);
  }
  void userinfo(json answer) {
    std::lock_guard lock(mutex_);
    userinfo_ = std::move(answer);
  }
  void discovery_answer(std::optional<std::pair<int, std::string>> a) {
    std::lock_guard lock(mutex_);
    discovery_answer_ = std::move(a);
  }
  void token_answer(std::optional<std::pair<int, std::string>> a) {
    std::lock_guard lock(mutex_);
    token_answer_ = std::move(a);
  }
  void token_delay(std::chrono::milliseconds d) {
    std::lock_guard lock(mutex_);
    token_delay_ = d;
  }
  void jwks_chunked(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    jwks_chunked_bytes_ = bytes;
  }
  int hits(const std::string& endpoint) {
    std::lock_guard lock(mutex_);
    return hits_[endpoint];
  }
  std::vector<std::string> problems() {
    std::lock_guard lock(mutex_);
    return problems_;
  }
  std::string token_authorization() {
    std::lock_guard lock(mutex_);
    return token_authorization_;
  }
  std::map<std::string, std::string> token_body() {
    std::lock_guard lock(mutex_);
    return token_body_;
  }

 private:
  static std::int64_t now_seconds() {
    return std::chrono::duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  }

  json discovery() const {
    return {{"issuer", issuer()},
            {"authorization_endpoint", issuer() + "/authorize"},
            {"token_endpoint", issuer() + "/token"},
            {"jwks_uri", issuer() + "/jwks"},
            {"userinfo_endpoint", issuer() + "/me"},
            {"response_types_supported", {"code"}},
            {"code_challenge_methods_supported", {"S256"}},
            {"token_endpoint_auth_methods_supported", {"client_secret_basic"}}};
  }

  static void answer(httplib::Response& res, const std::pair<int, std::string>& a) {
    res.status = a.first;
    res.set_content(a.second, "application/json");
  }

  // "" if `req` is what a provider accepts, else why not (the mutex held).
  std::string check_token_request(const httplib::Request& req) {
    if (token_authorization_ != kBasicAuth) return "client authentication";
    if (req.get_header_value("Content-Type") != "application/x-www-form-urlencoded") {
      return "content type";
    }
    if (token_body_.size() != 4) return "not exactly four form fields";
    if (token_body_["grant_type"] != "authorization_code") return "grant_type";
    auto grant = codes_.find(token_body_["code"]);
    if (grant == codes_.end()) return "unknown or used code";
    if (token_body_["redirect_uri"] != grant->second.redirect_uri) return "redirect_uri";
    if (s256(token_body_["code_verifier"]) != grant->second.challenge) return "PKCE";
    return "";
  }

  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mutex_;
  const TestKey* signer_ = &key_a();
  std::vector<const TestKey*> published_{&key_a()};
  json id_token_extra_ = {{"email", "jane@example.org"}, {"email_verified", true}};
  json userinfo_ = {{"sub", kSubject}};
  std::optional<std::pair<int, std::string>> discovery_answer_, token_answer_;
  std::chrono::milliseconds token_delay_{0};
  std::size_t jwks_chunked_bytes_ = 0;
  std::map<std::string, Grant> codes_;
  std::vector<std::string> access_tokens_;
  std::map<std::string, int> hits_;
  std::vector<std::string> problems_;
  std::string token_authorization_;
  std::map<std::string, std::string> token_body_;
};

OidcClientOptions options(const std::string& issuer) {
  return {.issuer = issuer,
          .client_id = kClientId,
          .client_secret = kClientSecret,
          .redirect_uri = kRedirectUri,
          .timeout = testing::scaled(std::chrono::seconds(5))};
}

// One whole sign-in: the browser's round trip through the fake, then the
// callback's finish_sign_in.
SignedIn sign_in(OidcClient& client, FakeProvider& provider) {
  PendingSignIn pending = new_pending_sign_in();
  std::string code = provider.authorize(client.authorization_url(pending));
  return client.finish_sign_in(code, pending, system_clock::now());
}

// The message of the OidcError that `f` throws, or "" if it throws none.
template <typename F>
std::string oidc_error_of(F f) {
  try {
    f();
  } catch (const OidcError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("oidc_client") {
  TEST_CASE(
      "a sign-in: discovery, the token endpoint with client_secret_basic and PKCE, the ID "
      "token checked" *
      doctest::test_suite("threaded")) {
    FakeProvider provider;
    OidcClient client(options(provider.issuer()));
    CHECK(client.metadata().token_endpoint == provider.issuer() + "/token");

    PendingSignIn pending = new_pending_sign_in();
    std::string code = provider.authorize(client.authorization_url(pending));
    SignedIn who = client.finish_sign_in(code, pending, system_clock::now());
    CHECK(provider.problems().empty());
    CHECK(who.subject == kSubject);
    CHECK(who.email == "jane@example.org");
    CHECK(who.email_verified);
    CHECK(who.claims.at("aud") == std::vector<std::string>{kClientId});

    CHECK(provider.token_authorization() == kBasicAuth);
    const std::map<std::string, std::string> expected_body = {
        {"grant_type", "authorization_code"},
        {"code", code},
        {"redirect_uri", kRedirectUri},
        {"code_verifier", pending.code_verifier}};
    CHECK(provider.token_body() == expected_body);
    CHECK(provider.hits("discovery") == 1);
    CHECK(provider.hits("jwks") == 1);
    CHECK(provider.hits("token") == 1);
    CHECK(provider.hits("userinfo") == 0);  // the ID token had email and email_verified

    // A second sign-in uses what the first fetched.
    CHECK(sign_in(client, provider).subject == kSubject);
    CHECK(provider.hits("discovery") == 1);
    CHECK(provider.hits("jwks") == 1);
    CHECK(provider.hits("token") == 2);
  }

  TEST_CASE("a code is redeemed once, and the provider's refusal is an OidcError" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    OidcClient client(options(provider.issuer()));
    PendingSignIn pending = new_pending_sign_in();
    std::string code = provider.authorize(client.authorization_url(pending));
    client.finish_sign_in(code, pending, system_clock::now());
    CHECK_THROWS_WITH_AS(client.finish_sign_in(code, pending, system_clock::now()),
                         doctest::Contains("HTTP 400"), OidcError);
    CHECK(provider.problems() == std::vector<std::string>{"unknown or used code"});
    // And a wrong verifier (PKCE) is refused by the provider too.
    PendingSignIn other = new_pending_sign_in();
    std::string code2 = provider.authorize(client.authorization_url(pending));
    CHECK_THROWS_AS(client.finish_sign_in(code2, other, system_clock::now()), OidcError);
    CHECK(provider.problems().back() == "PKCE");
  }

  TEST_CASE("a rotated key: the new kid makes one JWKS refetch, then sign-ins go on" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    OidcClient client(options(provider.issuer()));
    CHECK(sign_in(client, provider).subject == kSubject);  // key-a
    CHECK(provider.hits("jwks") == 1);

    provider.rotate(key_b(), {&key_a(), &key_b()});
    CHECK(sign_in(client, provider).subject == kSubject);  // key-b: refetched
    CHECK(provider.hits("jwks") == 2);
    CHECK(sign_in(client, provider).subject == kSubject);
    CHECK(sign_in(client, provider).subject == kSubject);
    CHECK(provider.hits("jwks") == 2);
  }

  TEST_CASE("unknown keys make at most one refetch per interval" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    OidcClient client(options(provider.issuer()));  // 60 s between refetches
    sign_in(client, provider);
    provider.rotate(key_b(), {&key_b()});
    sign_in(client, provider);
    CHECK(provider.hits("jwks") == 2);

    // Within the minute, key-c is not looked for: the sign-in fails.
    provider.rotate(key_c(), {&key_c()});
    try {
      sign_in(client, provider);
      FAIL("signed in with a key the client never fetched");
    } catch (const IdTokenError& e) {
      CHECK(e.failure() == IdTokenFailure::unknown_key);
      CHECK(std::string(e.what()) == "ID token key 'key-c' is not in the provider's key set");
    }
    CHECK(provider.hits("jwks") == 2);

    // With no interval, each unknown key is looked for (once).
    OidcClientOptions eager = options(provider.issuer());
    eager.jwks_refetch_interval = seconds(0);
    OidcClient eager_client(eager);
    provider.rotate(key_a(), {&key_a()});
    sign_in(eager_client, provider);
    CHECK(provider.hits("jwks") == 3);
    provider.rotate(key_c(), {&key_c()});
    sign_in(eager_client, provider);
    CHECK(provider.hits("jwks") == 4);
    // A key the provider does not publish either: one refetch, then refused.
    provider.rotate(key_b(), {&key_c()});
    CHECK_THROWS_AS(sign_in(eager_client, provider), IdTokenError);
    CHECK(provider.hits("jwks") == 5);
  }

  TEST_CASE("userinfo gives the email when the ID token has none" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    provider.id_token_extra(json::object());
    provider.userinfo({{"sub", kSubject},
                       {"email", "jane@example.org"},
                       {"email_verified", true},
                       {"groups", {"pulse-admins"}}});
    OidcClient client(options(provider.issuer()));
    SignedIn who = sign_in(client, provider);
    CHECK(provider.problems().empty());
    CHECK(provider.hits("userinfo") == 1);
    CHECK(who.email == "jane@example.org");
    CHECK(who.email_verified);
    CHECK(who.claims.at("groups") == std::vector<std::string>{"pulse-admins"});
    CHECK(who.claims.at("sub") == std::vector<std::string>{kSubject});
  }

  TEST_CASE("userinfo's email_verified counts only for the ID token's own address" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    OidcClient client(options(provider.issuer()));
    provider.id_token_extra({{"email", "jane@example.org"}});
    provider.userinfo({{"sub", kSubject}, {"email", "jane@example.org"}, {"email_verified", true}});
    SignedIn same = sign_in(client, provider);
    CHECK(same.email == "jane@example.org");
    CHECK(same.email_verified);

    provider.userinfo(
        {{"sub", kSubject}, {"email", "other@example.org"}, {"email_verified", true}});
    SignedIn other = sign_in(client, provider);
    CHECK(other.email == "jane@example.org");
    CHECK_FALSE(other.email_verified);

    // Neither says: not verified.
    provider.userinfo({{"sub", kSubject}});
    CHECK_FALSE(sign_in(client, provider).email_verified);
    CHECK(provider.hits("userinfo") == 3);
  }

  TEST_CASE("userinfo about another subject fails the sign-in" * doctest::test_suite("threaded")) {
    FakeProvider provider;
    provider.id_token_extra(json::object());
    provider.userinfo({{"sub", "someone-else"}, {"email", "mallory@example.org"}});
    OidcClient client(options(provider.issuer()));
    CHECK(oidc_error_of([&] { sign_in(client, provider); }) ==
          "OIDC userinfo: its subject (sub) is not the ID token's");
  }

  TEST_CASE("the token endpoint's 400 names the endpoint and status, never the code or secret" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    OidcClient client(options(provider.issuer()));
    PendingSignIn pending = new_pending_sign_in();
    std::string code = provider.authorize(client.authorization_url(pending));
    // As some providers do, the description repeats what was sent.
    provider.token_answer(std::make_pair(
        400, R"({"error":"invalid_grant","error_description":"code )" + code + R"( expired"})"));
    std::string message =
        oidc_error_of([&] { client.finish_sign_in(code, pending, system_clock::now()); });
    CHECK(message ==
          "OIDC token endpoint POST " + provider.issuer() + "/token: HTTP 400 (invalid_grant)");
    CHECK(message.find(code) == std::string::npos);
    CHECK(message.find(kClientSecret) == std::string::npos);
    CHECK(message.find(pending.code_verifier) == std::string::npos);

    // A code too long to be one is refused unsent, and not quoted either.
    std::string long_code(5000, 'c');
    CHECK(oidc_error_of([&] { client.finish_sign_in(long_code, pending, system_clock::now()); }) ==
          "OIDC sign-in: the code is longer than 4096 bytes");
    CHECK_THROWS_AS(client.finish_sign_in("", pending, system_clock::now()), OidcError);
    CHECK(provider.hits("token") == 1);
  }

  TEST_CASE("a token answer without an ID token, or with a forged one, fails" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    OidcClient client(options(provider.issuer()));
    PendingSignIn pending = new_pending_sign_in();
    std::string code = provider.authorize(client.authorization_url(pending));
    provider.token_answer(std::make_pair(200, R"({"access_token":"x","token_type":"Bearer"})"));
    CHECK(oidc_error_of([&] { client.finish_sign_in(code, pending, system_clock::now()); }) ==
          "OIDC token response: no id_token");
    // Signed by a key not published under the published kid.
    const TestKey forger = TestKey::rsa("key-a");
    provider.token_answer(std::nullopt);
    provider.rotate(forger, {&key_a()});
    try {
      sign_in(client, provider);
      FAIL("a forged ID token was accepted");
    } catch (const IdTokenError& e) {
      CHECK(e.failure() == IdTokenFailure::bad_signature);
    }
  }

  TEST_CASE("oversized answers are refused, with or without a Content-Length" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    provider.discovery_answer(std::make_pair(200, std::string(1024 * 1024 + 1, ' ')));
    OidcClientOptions at_once = options(provider.issuer());
    at_once.discovery_retry_interval = std::chrono::seconds(0);
    OidcClient client(at_once);
    CHECK(oidc_error_of([&] { client.metadata(); }) ==
          "OIDC discovery GET " + provider.issuer() +
              "/.well-known/openid-configuration: the answer is larger than 1048576 bytes");

    // A failed discovery is not kept: the next call tries again.
    provider.discovery_answer(std::nullopt);
    CHECK(client.metadata().issuer == provider.issuer());
    CHECK(provider.hits("discovery") == 2);

    provider.jwks_chunked(2 * 1024 * 1024);
    CHECK(oidc_error_of([&] { sign_in(client, provider); }) ==
          "OIDC JWKS GET " + provider.issuer() + "/jwks: the answer is larger than 1048576 bytes");
  }

  TEST_CASE("a redirect is not followed" * doctest::test_suite("threaded")) {
    FakeProvider provider;
    provider.discovery_answer(std::make_pair(302, "{}"));
    OidcClient client(options(provider.issuer()));
    CHECK_THROWS_WITH_AS(client.metadata(), doctest::Contains(": HTTP 302"), OidcError);
  }

  TEST_CASE("a provider that does not answer times out") {
    testing::LoopbackSocket silent(/*listening=*/true);
    OidcClientOptions o = options("http://127.0.0.1:" + std::to_string(silent.port()));
    o.timeout = std::chrono::milliseconds(300);
    OidcClient client(o);
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH_AS(client.metadata(), doctest::Contains("OIDC discovery GET"), OidcError);
    CHECK(std::chrono::steady_clock::now() - start < testing::scaled(seconds(3)));
  }

  TEST_CASE("a slow token endpoint times out" * doctest::test_suite("threaded")) {
    FakeProvider provider;
    OidcClientOptions o = options(provider.issuer());
    o.timeout = std::chrono::milliseconds(300);
    OidcClient client(o);
    client.metadata();
    // Answers only after the client has given up (and the test waits for
    // it to, as the server's stop does).
    provider.token_delay(testing::scaled(std::chrono::milliseconds(1500)));
    auto start = std::chrono::steady_clock::now();
    std::string message = oidc_error_of([&] { sign_in(client, provider); });
    CHECK(message.rfind("OIDC token endpoint POST ", 0) == 0);
    CHECK(std::chrono::steady_clock::now() - start <
          testing::scaled(std::chrono::milliseconds(1200)));
  }

  TEST_CASE("options are checked when the client is made") {
    auto with = [](auto change) {
      OidcClientOptions o = options("https://id.example.org");
      change(o);
      return oidc_error_of([&] { OidcClient client(o); });
    };
    CHECK(with([](OidcClientOptions&) {}) == "");
    CHECK(with([](OidcClientOptions& o) { o.issuer = "http://127.0.0.1:9000/"; }) == "");
    CHECK(with([](OidcClientOptions& o) { o.issuer = "http://id.example.org"; }) ==
          "OIDC issuer 'http://id.example.org': plain http is accepted only on a loopback host");
    CHECK(with([](OidcClientOptions& o) { o.issuer = "https://id.example.org?tenant=1"; }) ==
          "OIDC issuer 'https://id.example.org?tenant=1': an issuer has no query");
    std::string credentials =
        with([](OidcClientOptions& o) { o.issuer = "https://admin:hunter2@id.example.org"; });
    CHECK(credentials.find("hunter2") == std::string::npos);
    CHECK_FALSE(credentials.empty());
    CHECK(with([](OidcClientOptions& o) { o.client_id = ""; }) == "OIDC client: no client id");
    CHECK(with([](OidcClientOptions& o) { o.client_secret = ""; }) ==
          "OIDC client: no client secret");
    CHECK_FALSE(
        with([](OidcClientOptions& o) { o.redirect_uri = "http://pulse.example.org/cb"; }).empty());
    CHECK_FALSE(with([](OidcClientOptions& o) { o.redirect_uri = "/auth/callback"; }).empty());
  }

  TEST_CASE("a failed discovery is kept for a while, so an outage does not hold every sign-in" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    provider.discovery_answer(std::make_pair(503, "{}"));
    OidcClientOptions settings = options(provider.issuer());
    settings.discovery_retry_interval = std::chrono::seconds(3600);
    OidcClient client(settings);
    std::string first = oidc_error_of([&] { client.metadata(); });
    CHECK(first.find("OIDC discovery GET") != std::string::npos);
    provider.discovery_answer(std::nullopt);  // back, but not asked yet
    CHECK(oidc_error_of([&] { client.metadata(); }) == first);
    CHECK(provider.hits("discovery") == 1);
  }

  TEST_CASE("a discovery document for another issuer is refused" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    OidcClient client(options(provider.issuer() + "/"));  // not the issuer the fake names
    CHECK_THROWS_WITH_AS(client.metadata(), doctest::Contains("is not the one asked for"),
                         OidcError);
  }

  TEST_CASE("concurrent sign-ins share one discovery and one JWKS fetch" *
            doctest::test_suite("threaded")) {
    FakeProvider provider;
    OidcClient client(options(provider.issuer()));
    std::atomic<int> signed_in{0};
    std::vector<std::thread> threads;
    std::mutex failures_mutex;
    std::vector<std::string> failures;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 3; ++i) {
          try {
            // authorize()'s CHECKs may run in threads (doctest locks them).
            if (sign_in(client, provider).subject == kSubject) ++signed_in;
          } catch (const std::exception& e) {
            std::lock_guard lock(failures_mutex);
            failures.push_back(e.what());
          } catch (...) {
            std::lock_guard lock(failures_mutex);
            failures.push_back("a failed REQUIRE");
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
    CHECK(failures.empty());
    CHECK(signed_in == 12);
    CHECK(provider.problems().empty());
    CHECK(provider.hits("discovery") == 1);
    CHECK(provider.hits("jwks") == 1);
    CHECK(provider.hits("token") == 12);
  }
}

}  // namespace authsvc
