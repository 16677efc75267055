// The web app in process: a real SQLite store, a provider and a broker of
// the tests' own, and browsers that keep their cookies. The browser and
// provider end to end are tests/e2e/web_e2e.py.
#include "authsvc/web/web_app.h"

#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <thread>

#include "authsvc/core/error.h"
#include "authsvc/core/form.h"
#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/token.h"
#include "authsvc/web/web_error.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using nlohmann::json;

class Headers : public HttpHeaders {
 public:
  std::string_view get(std::string_view name) const override {
    auto found = fields.find(ascii_lower(name));
    return found == fields.end() ? std::string_view() : std::string_view(found->second);
  }
  std::map<std::string, std::string> fields;
};

// Signs in whoever the code names ("code-for:alice@x.org"), if the nonce
// and verifier are the ones the authorization URL was made with.
class FakeProvider : public IdentityProvider {
 public:
  std::string authorization_url(const PendingSignIn& secrets) override {
    std::lock_guard lock(mutex_);
    begun_[secrets.nonce] = secrets.code_verifier;
    return "https://idp.example/authorize?state=" + form_encoded(secrets.state) +
           "&nonce=" + form_encoded(secrets.nonce);
  }
  SignedIn finish_sign_in(std::string_view code, const PendingSignIn& secrets,
                          std::chrono::system_clock::time_point) override {
    std::lock_guard lock(mutex_);
    auto begun = begun_.find(secrets.nonce);
    if (begun == begun_.end() || begun->second != secrets.code_verifier) {
      throw Error("ID token nonce is not this sign-in's");
    }
    constexpr std::string_view kPrefix = "code-for:";
    if (code.rfind(kPrefix, 0) != 0) throw Error("the token endpoint refused the code (HTTP 400)");
    std::string email(code.substr(kPrefix.size()));
    return SignedIn{"sub-" + email, email, verified, claims};
  }
  bool verified = true;
  std::map<std::string, std::vector<std::string>> claims;

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> begun_;
};

// The broker's queue list is `queues`, read `calls` times; while `down`,
// its management API does not answer.
struct FakeBrokerState {
  std::vector<QueueInfo> queues;
  std::vector<ExchangeInfo> exchanges;
  std::vector<BindingInfo> bindings;
  std::vector<ChannelInfo> channels;
  std::vector<ConsumerInfo> consumers;
  int calls = 0;
  bool down = false;
};

class FakeBroker : public Broker {
 public:
  explicit FakeBroker(FakeBrokerState* state) : state_(state), queues_(&state->queues) {}
  std::vector<QueueInfo> queues() override {
    ++state_->calls;
    if (state_->down) throw Error("management API: connection refused");
    return *queues_;
  }
  std::vector<ExchangeInfo> exchanges() override {
    if (state_->down) throw Error("management API: connection refused");
    return state_->exchanges;
  }
  std::vector<ExchangeInfo> exchanges_with_rates() override { return exchanges(); }
  std::vector<BindingInfo> bindings() override { return state_->bindings; }
  std::vector<ChannelInfo> channels() override { return state_->channels; }
  std::vector<ConsumerInfo> consumers() override { return state_->consumers; }
  std::vector<ConnectionInfo> connections() override { return {}; }
  std::vector<std::string> internal_users() override { return {}; }
  bool delete_queue(const std::string& vhost, const std::string& name) override {
    auto found = std::find_if(queues_->begin(), queues_->end(), [&](const QueueInfo& q) {
      return q.vhost == vhost && q.name == name;
    });
    if (found == queues_->end()) return false;
    queues_->erase(found);
    return true;
  }
  bool delete_exchange(const std::string&, const std::string&) override { return false; }
  bool close_connection(const std::string&, const std::string&) override { return false; }
  void cap_queue(const QueueInfo&, std::int64_t) override {}
  bool uncap_queue(const std::string&, const std::string&) override { return false; }

 private:
  FakeBrokerState* state_;
  std::vector<QueueInfo>* queues_;
};

struct Answer {
  int status = 0;
  std::string body;
  std::string content_type;
  std::multimap<std::string, std::string> headers;

  std::string header(const std::string& name) const {
    auto found = headers.find(name);
    return found == headers.end() ? "" : found->second;
  }
  json as_json() const { return json::parse(body); }
};

// The value of the element with id="token", as the page shows it.
std::string token_on(const Answer& page) {
  std::smatch m;
  static const std::regex kToken(R"(id="token"[^>]*>([^<]+)<)");
  if (!std::regex_search(page.body, m, kToken)) return "";
  std::string token = m[1];
  testing::record_issued_token(token);
  return token;
}

std::string csrf_on(const Answer& page) {
  std::smatch m;
  static const std::regex kCsrf(R"(name="csrf" value="([^"]+)\")");
  return std::regex_search(page.body, m, kCsrf) ? std::string(m[1]) : "";
}

struct World {
  testing::TempDir dir{testing::TempDir::Keep::nothing};
  std::string db = dir.file("authsvc.db");
  std::unique_ptr<Store> setup = open_store(db, Actor{"cli", "test"}, OpenMode::create_if_missing);
  testing::AuditLines audit;
  std::shared_ptr<FakeProvider> provider = std::make_shared<FakeProvider>();
  FakeBrokerState broker;
  std::vector<QueueInfo>& queues = broker.queues;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  WebOptions options;
  std::unique_ptr<WebApp> app;
  // How the app opens its store connections (replaceable to make it fail).
  std::function<std::unique_ptr<Store>()> open_app_store = [this] {
    return open_store(db, Actor{"web", ""});
  };

  World() {
    options.public_url = "https://pulse.example.org";
    options.broker_url = "amqps://pulse.example.org:5671";
    options.admins = {"root@x.org"};
    // Each test sees the broker as it set it (the reuse has a test of its own).
    options.queue_list_max_age = std::chrono::milliseconds(0);
    start();
  }

  void start() {
    WebDependencies deps;
    deps.open_store = [this] { return open_app_store(); };
    deps.identity = provider;
    deps.open_broker = [this] { return std::make_unique<FakeBroker>(&broker); };
    deps.audit = &audit;
    deps.clock = [this] { return now; };
    app = std::make_unique<WebApp>(options, deps);
  }

  std::vector<json> audit_lines() { return testing::parse_json_lines<json>(audit.lines()); }
};

// A browser: keeps the cookies it is given, sends them back.
struct Browser {
  explicit Browser(World& w) : world(w) {}

  World& world;
  std::string peer = "203.0.113.7:50000";
  std::map<std::string, std::string> cookies;
  std::string last_location;

  Answer request(const std::string& method, const std::string& target, const std::string& body = "",
                 std::map<std::string, std::string> extra = {}) {
    std::size_t question = target.find('?');
    std::string path = target.substr(0, question);
    std::string query = question == std::string::npos ? "" : target.substr(question + 1);
    Headers headers;
    std::string cookie_header;
    for (const auto& [name, value] : cookies) {
      cookie_header += (cookie_header.empty() ? "" : "; ") + name + "=" + value;
    }
    if (!cookie_header.empty()) headers.fields["cookie"] = cookie_header;
    for (auto& [name, value] : extra) headers.fields[ascii_lower(name)] = value;
    std::string content_type = body.empty() ? "" : "application/x-www-form-urlencoded";
    HttpCall call{method, path, query, content_type, body, peer, &headers};
    HttpAnswer raw = world.app->handle(call);
    Answer answer{raw.status, raw.body, raw.content_type, {}};
    for (const auto& [name, value] : raw.headers) {
      answer.headers.emplace(name, value);
      if (name != "Set-Cookie") continue;
      std::string pair = value.substr(0, value.find(';'));
      std::string cookie = pair.substr(0, pair.find('='));
      std::string cookie_value = pair.substr(pair.find('=') + 1);
      if (value.find("Max-Age=0") != std::string::npos) {
        cookies.erase(cookie);
      } else {
        cookies[cookie] = cookie_value;
        testing::record_issued_token(cookie_value);
      }
    }
    last_location = answer.header("Location");
    return answer;
  }
  Answer get(const std::string& target) { return request("GET", target); }
  Answer post(const std::string& target, const std::string& body) {
    return request("POST", target, body);
  }

  // The whole sign-in: /login, the provider, /callback. Returns the
  // callback's answer.
  Answer sign_in(const std::string& email, const std::string& next = "") {
    Answer login = get(next.empty() ? "/login" : "/login?next=" + form_encoded(next));
    REQUIRE(login.status == 303);
    std::string state = state_in(login.header("Location"));
    return get("/callback?code=" + form_encoded("code-for:" + email) +
               "&state=" + form_encoded(state));
  }
  static std::string state_in(const std::string& location) {
    std::smatch m;
    static const std::regex kState(R"(state=([^&]+))");
    REQUIRE(std::regex_search(location, m, kState));
    std::string error;
    std::optional<Form> form = Form::decode("s=" + std::string(m[1]), &error);
    return std::string(*form->find("s"));
  }
  std::string csrf() { return csrf_on(get("/accounts")); }
  // A form post with this session's CSRF token.
  Answer submit(const std::string& target, const std::string& fields = "") {
    return post(target, "csrf=" + form_encoded(csrf()) + (fields.empty() ? "" : "&" + fields));
  }
};

std::string created_token(Browser& b, const std::string& name) {
  Answer page = b.submit("/accounts", "name=" + name + "&expires=");
  REQUIRE(page.status == 200);
  std::string token = token_on(page);
  REQUIRE(!token.empty());
  return token;
}

}  // namespace

TEST_CASE("web: sign-in through the provider gives a session, a replayed state gives nothing") {
  World w;
  Browser alice{w};
  Answer login = alice.get("/login?next=/queues");
  CHECK(login.status == 303);
  CHECK(login.header("Location").rfind("https://idp.example/authorize?state=", 0) == 0);
  std::string set_cookie = login.header("Set-Cookie");
  CHECK(set_cookie.rfind("__Host-authsvc_signin=", 0) == 0);
  CHECK(set_cookie.find("SameSite=Lax") != std::string::npos);  // survives the way back
  CHECK(set_cookie.find("HttpOnly") != std::string::npos);
  CHECK(set_cookie.find("Secure") != std::string::npos);
  std::string state = Browser::state_in(login.header("Location"));

  std::string callback =
      "/callback?code=" + form_encoded("code-for:alice@x.org") + "&state=" + form_encoded(state);
  Browser attacker{w};
  attacker.cookies = {};  // another browser: no sign-in cookie
  Answer stolen = attacker.get(callback);
  CHECK(stolen.status == 400);  // and the state is used up now
  CHECK(attacker.cookies.empty());

  Answer again = alice.get(callback);
  CHECK(again.status == 400);  // replayed: taken by the attempt above
  CHECK(alice.cookies.count("__Host-authsvc_session") == 0);

  Answer done = alice.sign_in("alice@x.org", "/queues");
  CHECK(done.status == 303);
  CHECK(done.header("Location") == "/queues");
  CHECK(alice.cookies.count("__Host-authsvc_session") == 1);
  CHECK(alice.cookies.count("__Host-authsvc_signin") == 0);  // cleared
  CHECK(alice.get("/accounts").status == 200);
  CHECK(alice.get("/").header("Location") == "/accounts");

  // Each bad callback: 400, no session.
  Browser mallory{w};
  for (const std::string& bad :
       {std::string("/callback?code=x"), std::string("/callback?code=x&state="),
        std::string("/callback?code=x&state=forged"), std::string("/callback?state=a&state=b")}) {
    CAPTURE(bad);
    CHECK(mallory.get(bad).status == 400);
  }
  CHECK(mallory.cookies.empty());
  Answer refused_code =
      mallory.get("/callback?code=bogus&state=" +
                  form_encoded(Browser::state_in(mallory.get("/login").header("Location"))));
  CHECK(refused_code.status == 400);
  CHECK(refused_code.body.find("the token endpoint refused the code") != std::string::npos);
  CHECK(mallory.cookies.count("__Host-authsvc_session") == 0);
}

TEST_CASE("web: the sign-in cookie is never SameSite=Strict, and plain http drops Secure") {
  World w;
  w.options.public_url = "http://127.0.0.1:8080";
  w.start();
  Browser b{w};
  std::string set_cookie = b.get("/login").header("Set-Cookie");
  CHECK(set_cookie.rfind("authsvc_signin=", 0) == 0);
  CHECK(set_cookie.find("Strict") == std::string::npos);
  CHECK(set_cookie.find("Secure") == std::string::npos);
  CHECK(b.sign_in("a@x.org").status == 303);
  CHECK(b.cookies.count("authsvc_session") == 1);
}

TEST_CASE("web: who may sign in: a verified address, the allowed domains, the required claims") {
  World w;
  w.options.allow_domains = {"x.org"};
  w.options.require_claims = {{"groups", "pulse"}};
  w.start();
  Browser outsider{w};
  w.provider->claims = {{"groups", {"pulse"}}};
  Answer refused = outsider.sign_in("eve@evil.example");
  CHECK(refused.status == 403);
  CHECK(refused.body.find("the domain evil.example may not sign in here") != std::string::npos);
  CHECK(outsider.cookies.count("__Host-authsvc_session") == 0);

  w.provider->claims = {{"groups", {"staff"}}};
  CHECK(outsider.sign_in("bob@x.org").status == 403);
  w.provider->claims = {{"groups", {"staff", "pulse"}}};
  w.provider->verified = false;
  CHECK(outsider.sign_in("bob@x.org").status == 403);
  w.provider->verified = true;
  CHECK(outsider.sign_in("bob@x.org").status == 303);
  CHECK(outsider.cookies.count("__Host-authsvc_session") == 1);
}

TEST_CASE("web: a next parameter only ever leads inside the site") {
  World w;
  for (const std::string& next :
       {std::string("https://evil.example/"), std::string("//evil.example/x"),
        std::string("/\\evil.example"), std::string("javascript:alert(1)")}) {
    CAPTURE(next);
    Browser b{w};
    CHECK(b.sign_in("a@x.org", next).header("Location") == "/accounts");
  }
  Browser b{w};
  CHECK(b.sign_in("a@x.org", "/accounts/new").header("Location") == "/accounts/new");
}

TEST_CASE("web: every change needs the session's CSRF token, and one token serves every form") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  Browser bob{w};
  bob.sign_in("bob@x.org");
  std::string bobs_csrf = bob.csrf();

  CHECK(alice.post("/accounts", "name=alice-app").status == 403);
  CHECK(alice.post("/accounts", "name=alice-app&csrf=").status == 403);
  CHECK(alice.post("/accounts", "name=alice-app&csrf=" + form_encoded(bobs_csrf)).status == 403);
  CHECK_FALSE(w.setup->find_user("alice-app"));

  // The same token on two pages, for two actions, and after a repeated one.
  std::string csrf = alice.csrf();
  CHECK(csrf == csrf_on(alice.get("/apikeys")));
  CHECK(alice.post("/accounts", "name=alice-app&csrf=" + form_encoded(csrf)).status == 200);
  CHECK(alice.post("/accounts", "name=alice-two&csrf=" + form_encoded(csrf)).status == 200);
  CHECK(alice.post("/accounts/alice-app/delete", "confirm=alice-app&csrf=" + form_encoded(csrf))
            .status == 303);
  // Deleting again: gone, and said so; never a CSRF error.
  Answer twice =
      alice.post("/accounts/alice-app/delete", "confirm=alice-app&csrf=" + form_encoded(csrf));
  CHECK(twice.status == 404);
  CHECK(twice.body.find("no such account") != std::string::npos);

  // Signed out, a form post is refused before anything is looked at.
  Browser nobody{w};
  CHECK(nobody.post("/accounts", "name=x&csrf=" + form_encoded(csrf)).status == 403);
  CHECK(nobody.get("/accounts").status == 303);
  CHECK(nobody.last_location == "/login?next=%2Faccounts");
}

TEST_CASE("web: the whole account story through the pages") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  Answer created = alice.submit("/accounts", "name=alice-app&expires=30d");
  REQUIRE(created.status == 200);
  std::string token = token_on(created);
  CHECK(token.size() == 43);
  CHECK(created.header("Cache-Control") == "no-store");
  CHECK(created.body.find("amqps://alice-app:") != std::string::npos);
  UserInfo info = *w.setup->find_user("alice-app");
  CHECK(info.owners == std::vector<std::string>{"alice@x.org"});
  CHECK_FALSE(info.expires_at.empty());

  Answer mine = alice.get("/accounts");
  CHECK(mine.body.find("/accounts/alice-app") != std::string::npos);

  Answer rotated = alice.submit("/accounts/alice-app/rotate", "grace=1m");
  REQUIRE(rotated.status == 200);
  std::string second = token_on(rotated);
  CHECK(second != token);
  CHECK_FALSE(w.setup->find_user("alice-app")->previous_valid_until.empty());
  CHECK(alice.submit("/accounts/alice-app/rotate", "grace=8d").status == 400);

  CHECK(alice.submit("/accounts/alice-app/owners", "email=bob%40x.org").status == 303);
  CHECK(alice.last_location == "/accounts/alice-app?notice=owner-added");
  Browser bob{w};
  bob.sign_in("bob@x.org");
  CHECK(bob.get("/accounts/alice-app").status == 200);

  // The delete form's confirm must be the name: otherwise nothing changes.
  Answer unconfirmed = bob.submit("/accounts/alice-app/delete", "confirm=alice");
  CHECK(unconfirmed.status == 400);
  CHECK(unconfirmed.body.find("name=\"confirm\"") != std::string::npos);
  CHECK(w.setup->find_user("alice-app"));
  CHECK(bob.submit("/accounts/alice-app/delete", "confirm=alice-app").status == 303);
  CHECK_FALSE(w.setup->find_user("alice-app"));
}

TEST_CASE("web: another person's account and queues are 404, exactly as missing ones") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  created_token(alice, "alice-app");
  w.queues = {
      QueueInfo{"/", "queue/alice-app/jobs", 5, 1, true, false, false, {}, {}, {}, {}, {}, {}, {}},
      QueueInfo{"/", "queue/someone/else", 7, 0, true, false, false, {}, {}, {}, {}, {}, {}, {}}};
  Browser carol{w};
  carol.sign_in("carol@x.org");

  Answer theirs = carol.get("/accounts/alice-app");
  Answer missing = carol.get("/accounts/no-such-app");
  CHECK(theirs.status == 404);
  CHECK(missing.status == 404);
  CHECK(theirs.body.find("alice@x.org") == std::string::npos);
  for (std::string action : {"rotate", "owners", "owners/remove", "delete"}) {
    CAPTURE(action);
    CHECK(carol.submit("/accounts/alice-app/" + action, "email=carol%40x.org&confirm=alice-app")
              .status == 404);
  }
  CHECK(carol.get("/queues").body.find("queue/alice-app/jobs") == std::string::npos);
  CHECK(carol.submit("/queues/delete", "vhost=%2F&name=queue%2Falice-app%2Fjobs").status == 404);
  CHECK(w.queues.size() == 2);
  CHECK(carol.get("/admin").status == 404);
  CHECK(carol.submit("/admin/accounts/alice-app/disable").status == 404);
  CHECK(w.setup->find_user("alice-app")->active);

  Answer queues = alice.get("/queues");
  CHECK(queues.body.find("queue/alice-app/jobs") != std::string::npos);
  CHECK(queues.body.find("queue/someone/else") == std::string::npos);
  CHECK(alice.submit("/queues/delete", "vhost=%2F&name=queue%2Falice-app%2Fjobs").status == 303);
  CHECK(w.queues.size() == 1);
}

TEST_CASE("web: an account's page shows its report card, escaped, and says when it cannot") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  created_token(alice, "alice-app");
  ExchangeInfo events;
  events.vhost = "/";
  events.name = "exchange/alice-app/\x1b[31mevents";
  events.type = "fanout";
  events.durable = true;
  w.broker.exchanges = {events};
  ExchangeSample seen;
  seen.exchange = ResourceKey{"/", events.name};
  seen.inspected = 4;
  seen.routing_key_fields_min = seen.routing_key_fields_max = 2;
  ExchangeViolationRecord not_json;
  not_json.kind = MessageViolation::not_json;
  not_json.count = 3;
  not_json.last_at = "2026-12-03T08:00:00.000000Z";
  seen.violations = {not_json};
  w.setup->add_exchange_samples({seen});
  w.broker.channels = {ChannelInfo{"c (1)", "alice-app", "/", true, 12, 0}};
  w.broker.consumers = {ConsumerInfo{"/", "queue/alice-app/jobs", "c (2)", "alice-app", 0, true}};
  w.queues = {
      QueueInfo{"/", "queue/alice-app/jobs", 5, 1, true, false, false, {}, {}, {}, {}, {}, {}, {}}};

  Answer page = alice.get("/accounts/alice-app");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("Against the Pulse specification") != std::string::npos);
  CHECK(page.body.find("<span class=\"badge badge-warned\">NOT MET</span></td>\n<td>Exchanges "
                       "<strong>MUST</strong> be topic exchanges") != std::string::npos);
  CHECK(page.body.find("<span class=\"badge badge-warned\">NOT MET</span></td>\n<td>Messages "
                       "<strong>MUST</strong> be UTF-8-encoded JSON") != std::string::npos);
  CHECK(page.body.find("<span class=\"badge badge-ok\">met</span></td>\n<td>Publishers "
                       "<strong>SHOULD</strong> use confirm-publish channels") !=
        std::string::npos);
  CHECK(page.body.find("without a limit, on queue/alice-app/jobs") != std::string::npos);
  CHECK(page.body.find("exchange/alice-app/\\x1b[31mevents: 3 of 4 inspected") !=
        std::string::npos);
  CHECK(page.body.find('\x1b') == std::string::npos);

  w.broker.down = true;
  Answer down = alice.get("/accounts/alice-app");
  REQUIRE(down.status == 200);
  CHECK(down.body.find("The report card cannot be shown") != std::string::npos);
  CHECK(down.body.find("Queues cannot be shown") != std::string::npos);
}

TEST_CASE("web: the exchange directory, to anyone signed in, escaped, as pages and JSON") {
  World w;
  auto exchange = [](std::string name, std::string type, bool durable, std::optional<double> rate) {
    ExchangeInfo e;
    e.vhost = "/";
    e.name = std::move(name);
    e.type = std::move(type);
    e.durable = durable;
    e.publish_rate = rate;
    return e;
  };
  w.broker.exchanges = {exchange("exchange/alice/events", "topic", true, 2.5),
                        exchange("exchange/bob/fan", "fanout", false, std::nullopt),
                        exchange("amq.topic", "topic", true, 0.0)};
  w.broker.bindings = {BindingInfo{"/", "exchange/alice/events", "queue/bob/in", "queue"},
                       BindingInfo{"/", "exchange/alice/events", "authsvc.sampler.00ff", "queue"}};
  ExchangeSample seen;
  seen.exchange = ResourceKey{"/", "exchange/alice/events"};
  seen.inspected = 3;
  seen.first_seen_at = "2026-12-02T14:00:00.000000Z";
  seen.last_seen_at = "2026-12-02T14:50:01.000000Z";
  seen.last.routing_key = "evil.\x1b[31m.key";
  seen.last.content_type = "text/html";
  seen.last.delivery_mode = 2;
  seen.last.payload = "<script>alert(1)</script>\x07";
  seen.last.size = static_cast<std::int64_t>(seen.last.payload.size());
  seen.json_keys = {"a"};
  seen.routing_key_fields_min = 3;
  seen.routing_key_fields_max = 3;
  ExchangeViolationRecord not_json;
  not_json.kind = MessageViolation::not_json;
  not_json.count = 2;
  not_json.last_at = seen.last_seen_at;
  not_json.example = seen.last;
  seen.violations = {not_json};
  w.setup->add_exchange_samples({seen});

  Browser anyone{w};
  CHECK(anyone.get("/exchanges").status == 303);  // signed out: to the sign-in
  anyone.sign_in("carol@x.org");                  // owns nothing
  Answer list = anyone.get("/exchanges");
  REQUIRE(list.status == 200);
  CHECK(list.body.find("exchange/alice/events") != std::string::npos);
  CHECK(list.body.find("exchange/bob/fan") != std::string::npos);
  CHECK(list.body.find("amq.topic") == std::string::npos);
  CHECK(list.body.find("not-json 2") != std::string::npos);
  CHECK(list.body.find("not durable; not topic") != std::string::npos);
  CHECK(list.body.find("href=\"/exchanges/%2F/exchange%2Falice%2Fevents\"") != std::string::npos);

  Answer one = anyone.get("/exchanges/%2F/exchange%2Falice%2Fevents");
  REQUIRE(one.status == 200);
  CHECK(one.body.find("<script>alert") == std::string::npos);
  CHECK(one.body.find('\x1b') == std::string::npos);
  CHECK(one.body.find('\x07') == std::string::npos);
  CHECK(one.body.find("&lt;script&gt;alert(1)&lt;/script&gt;\\x07") != std::string::npos);
  CHECK(one.body.find("evil.\\x1b[31m.key") != std::string::npos);
  CHECK(one.body.find("Messages MUST contain a UTF-8-encoded JSON payload") != std::string::npos);
  CHECK(anyone.get("/exchanges/%2F/exchange%2Fnobody%2Fx").status == 404);
  CHECK(anyone.get("/exchanges/%2F").status == 404);

  json api = anyone.request("GET", "/api/v1/exchanges").as_json();
  REQUIRE(api["exchanges"].size() == 2);
  json alice = api["exchanges"][0];
  CHECK(alice["name"] == "exchange/alice/events");
  CHECK(alice["owner"] == "alice");
  CHECK(alice["bindings"] == 1);  // not the sampler's own queue
  CHECK(alice["publish_rate"] == 2.5);
  CHECK(alice["compliant"] == false);
  CHECK(alice["sample"]["inspected"] == 3);
  CHECK(alice["sample"]["violations"][0]["kind"] == "not-json");
  CHECK_FALSE(alice["sample"].contains("last"));
  CHECK(api["exchanges"][1]["sample"].is_null());
  CHECK(api["exchanges"][1]["problem"] == "its type is fanout, not topic and it is not durable");
  json detail = anyone.request("GET", "/api/v1/exchanges/%2F/exchange%2Falice%2Fevents").as_json();
  CHECK(detail["sample"]["last"]["routing_key"] == "evil.\\x1b[31m.key");
  CHECK(detail["sample"]["last"]["routing_key_fields"] ==
        json::array({"evil", "\\x1b[31m", "key"}));
  CHECK(detail["sample"]["last"]["payload"] == "<script>alert(1)</script>\\x07");
  CHECK(detail["sample"]["violations"][0]["example"]["content_type"] == "text/html");
  CHECK(anyone.request("GET", "/api/v1/exchanges/%2F/exchange%2Fnobody%2Fx").status == 404);

  w.broker.down = true;
  CHECK(anyone.get("/exchanges").body.find("did not answer") != std::string::npos);
  CHECK(anyone.request("GET", "/api/v1/exchanges").status == 503);
}

TEST_CASE("web: an admin disables and enables any account, and sees unowned queues") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  created_token(alice, "alice-app");
  w.queues = {
      QueueInfo{"/", "queue/ghost/q", 3, 0, true, false, false, {}, {}, {}, {}, {}, {}, {}}};
  Browser root{w};
  root.sign_in("ROOT@x.org");
  Answer admin = root.get("/admin");
  CHECK(admin.status == 200);
  CHECK(admin.body.find("alice-app") != std::string::npos);
  CHECK(admin.body.find("queue/ghost/q") != std::string::npos);
  CHECK(root.submit("/admin/accounts/alice-app/disable").status == 303);
  CHECK_FALSE(w.setup->find_user("alice-app")->active);
  CHECK(root.submit("/admin/accounts/alice-app/enable").status == 303);
  CHECK(w.setup->find_user("alice-app")->active);
  CHECK(root.submit("/admin/accounts/ghost/enable").status == 404);
}

TEST_CASE("web: every answer has the security headers, and names are checked and escaped") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  for (std::string target : {"/", "/accounts", "/accounts/new", "/nope", "/static/style.css",
                             "/api/v1/openapi.json", "/api/v1/accounts"}) {
    CAPTURE(target);
    Answer a = alice.get(target);
    CHECK(a.header("Content-Security-Policy").find("default-src 'none'") != std::string::npos);
    CHECK(a.header("Content-Security-Policy").find("'unsafe-inline'") == std::string::npos);
    CHECK(a.header("X-Frame-Options") == "DENY");
    CHECK(a.header("Referrer-Policy") == "no-referrer");
    CHECK(a.header("X-Content-Type-Options") == "nosniff");
  }
  Answer bad = alice.submit("/accounts", "name=" + form_encoded("<script>alert(\"x\")</script>"));
  CHECK(bad.status == 400);
  CHECK(bad.body.find("cannot be used") != std::string::npos);
  CHECK(bad.body.find("<script>alert") == std::string::npos);
  Answer path = alice.get("/accounts/" + form_encoded("<img src=x onerror=alert(1)>"));
  CHECK(path.status == 404);
  CHECK(path.body.find("<img") == std::string::npos);
}

TEST_CASE("web: creations and rotations are limited per person, not for everyone") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  std::string csrf = alice.csrf();
  int created = 0;
  int limited = 0;
  for (int i = 0; i < 25; ++i) {
    Answer a =
        alice.post("/accounts", "csrf=" + form_encoded(csrf) + "&name=app-" + std::to_string(i));
    if (a.status == 200) {
      token_on(a);
      ++created;
    }
    if (a.status == 429) ++limited;
  }
  CHECK(created >= 10);
  CHECK(limited > 0);
  CHECK(created + limited == 25);
  Browser bob{w};
  bob.sign_in("bob@x.org");
  CHECK(bob.submit("/accounts", "name=bob-app").status == 200);
  // A minute later, alice may again.
  w.now += std::chrono::seconds(61);
  CHECK(alice.submit("/accounts", "name=alice-late").status == 200);
}

TEST_CASE("web: failed callbacks are limited per client address, not globally") {
  World w;
  Browser mallory{w};
  mallory.peer = "198.51.100.9:4000";
  int refused = 0;
  for (int i = 0; i < 30; ++i) {
    if (mallory.get("/callback?code=x&state=forged-" + std::to_string(i)).status == 429) ++refused;
  }
  CHECK(refused > 0);
  Browser alice{w};
  CHECK(alice.sign_in("alice@x.org").status == 303);
}

TEST_CASE("web: sessions end when idle, when old, and at sign-out, on the server") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  std::string session = alice.cookies.at("__Host-authsvc_session");
  CHECK(alice.get("/accounts").status == 200);

  // Sign-out ends it in the store: the old cookie is worth nothing.
  CHECK(alice.submit("/logout").status == 303);
  CHECK(alice.cookies.count("__Host-authsvc_session") == 0);
  Browser replay{w};
  replay.cookies["__Host-authsvc_session"] = session;
  CHECK(replay.get("/accounts").status == 303);

  alice.sign_in("alice@x.org");
  w.now += w.options.session_idle - std::chrono::seconds(1);
  CHECK(alice.get("/accounts").status == 200);  // seen: the idle clock starts again
  w.now += w.options.session_idle + std::chrono::seconds(1);
  CHECK(alice.get("/accounts").status == 303);

  alice.sign_in("alice@x.org");
  for (auto t = std::chrono::seconds(0); t < w.options.session_lifetime;
       t += w.options.session_idle / 2) {
    w.now += w.options.session_idle / 2;
  }
  CHECK(alice.get("/accounts").status == 303);
}

TEST_CASE("web: the JSON API with an API key, and with a session plus X-CSRF-Token") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  Answer key_page = alice.submit("/apikeys", "label=ci");
  REQUIRE(key_page.status == 200);
  std::string key = token_on(key_page);
  REQUIRE(key.rfind("ak_", 0) == 0);
  Browser script{w};
  std::map<std::string, std::string> bearer{{"Authorization", "Bearer " + key}};

  Answer created =
      script.request("POST", "/api/v1/accounts", R"({"name":"alice-bot","expires":"30d"})", bearer);
  CHECK(created.status == 201);
  CHECK(created.as_json()["name"] == "alice-bot");
  std::string token = created.as_json()["token"];
  testing::record_issued_token(token);
  CHECK(token.size() == 43);
  CHECK(w.setup->find_user("alice-bot")->owners == std::vector<std::string>{"alice@x.org"});

  json list = script.request("GET", "/api/v1/accounts", "", bearer).as_json();
  REQUIRE(list["accounts"].size() == 1);
  CHECK(list["accounts"][0]["name"] == "alice-bot");
  CHECK(list["accounts"][0]["owners"] == json::array({"alice@x.org"}));
  CHECK(list["accounts"][0]["active"] == true);
  CHECK(list["accounts"][0]["legacy"] == false);
  CHECK(list["accounts"][0]["expires"].is_string());

  Answer rotated =
      script.request("POST", "/api/v1/accounts/alice-bot/rotate", R"({"grace":"30m"})", bearer);
  CHECK(rotated.status == 200);
  testing::record_issued_token(rotated.as_json()["token"]);
  CHECK(rotated.as_json()["token"] != token);
  CHECK(script.request("PUT", "/api/v1/accounts/alice-bot/owners/bob%40x.org", "", bearer).status ==
        204);
  CHECK(script.request("DELETE", "/api/v1/accounts/alice-bot/owners/bob%40x.org", "", bearer)
            .status == 204);
  Answer last =
      script.request("DELETE", "/api/v1/accounts/alice-bot/owners/alice%40x.org", "", bearer);
  CHECK(last.status == 409);
  CHECK(last.as_json()["error"].get<std::string>().find("last owner") != std::string::npos);

  w.queues = {
      QueueInfo{"/", "queue/alice-bot/in", 2, 1, true, false, false, {}, {}, {}, {}, {}, {}, {}}};
  json queues = script.request("GET", "/api/v1/queues", "", bearer).as_json();
  REQUIRE(queues["queues"].size() == 1);
  CHECK(queues["queues"][0]["messages"] == 2);
  CHECK(queues["queues"][0]["consumers"] == 1);
  CHECK(script.request("DELETE", "/api/v1/queues/%2F/queue%2Falice-bot%2Fin", "", bearer).status ==
        204);
  CHECK(script.request("DELETE", "/api/v1/queues/%2F/queue%2Falice-bot%2Fin", "", bearer).status ==
        404);

  CHECK(script.request("DELETE", "/api/v1/accounts/alice-bot", "", bearer).status == 204);
  CHECK(script.request("DELETE", "/api/v1/accounts/alice-bot", "", bearer).status == 404);
  CHECK(script.request("GET", "/api/v1/accounts/alice-bot", "", bearer).status == 404);

  // Without a key: 401, with a JSON error. A revoked key is no key.
  Answer anonymous = script.request("GET", "/api/v1/accounts");
  CHECK(anonymous.status == 401);
  CHECK(anonymous.as_json().contains("error"));
  CHECK(anonymous.header("WWW-Authenticate") == "Bearer");
  CHECK(script.request("GET", "/api/v1/accounts", "", {{"Authorization", "Bearer nope"}}).status ==
        401);
  long long id = w.setup->api_keys_of("alice@x.org").at(0).id;
  CHECK(alice.submit("/apikeys/" + std::to_string(id) + "/revoke").status == 303);
  CHECK(script.request("GET", "/api/v1/accounts", "", bearer).status == 401);

  // A session works for reading; a change needs the header.
  CHECK(alice.request("GET", "/api/v1/accounts").status == 200);
  CHECK(alice.request("POST", "/api/v1/accounts", R"({"name":"alice-web"})").status == 403);
  std::string csrf = alice.csrf();
  CHECK(
      alice.request("POST", "/api/v1/accounts", R"({"name":"alice-web"})", {{"X-CSRF-Token", csrf}})
          .status == 201);
  CHECK(alice.request("POST", "/api/v1/accounts", "[1]", {{"X-CSRF-Token", csrf}}).status == 400);

  Answer openapi = script.request("GET", "/api/v1/openapi.json");
  CHECK(openapi.status == 200);
  json document = openapi.as_json();
  CHECK(document["openapi"] == "3.0.3");
  for (const char* path : {"/accounts", "/accounts/{name}", "/accounts/{name}/rotate",
                           "/accounts/{name}/owners/{address}", "/queues", "/queues/{vhost}/{name}",
                           "/exchanges", "/exchanges/{vhost}/{name}"}) {
    CAPTURE(path);
    CHECK(document["paths"].contains(path));
  }
}

TEST_CASE(
    "web: every request is audited with who, from where, what and the outcome, and no secret") {
  World w;
  Browser alice{w};
  Answer signed_in = alice.sign_in("alice@x.org");
  std::string session = alice.cookies.at("__Host-authsvc_session");
  std::string token = created_token(alice, "alice-app");
  alice.post("/accounts", "name=x");  // no CSRF token
  std::vector<json> lines = w.audit_lines();
  REQUIRE(lines.size() >= 5);
  bool saw_sign_in = false;
  bool saw_create = false;
  bool saw_refusal = false;
  for (const json& line : lines) {
    CHECK(line["actor"] == "web");
    CHECK(line["from"] == "203.0.113.7");
    if (line["action"] == "sign-in" && line["decision"] == "ok") {
      saw_sign_in = true;
      CHECK(line["operator"] == "alice@x.org");
    }
    if (line["action"] == "account create" && line["decision"] == "ok") {
      saw_create = true;
      CHECK(line["user"] == "alice-app");
      CHECK(line["operator"] == "alice@x.org");
      CHECK(line["via"] == "session");
    }
    if (line["action"] == "account create" && line["status"] == 403) {
      saw_refusal = true;
      CHECK(line["decision"] == "denied");
      CHECK(line["reason"] == "the form has no CSRF token: reload the page and try again");
    }
  }
  CHECK(saw_sign_in);
  CHECK(saw_create);
  CHECK(saw_refusal);
  for (const std::string& line : w.audit.lines()) {
    CHECK(line.find(session) == std::string::npos);
    CHECK(line.find(token) == std::string::npos);
    CHECK(line.find("code-for") == std::string::npos);  // the callback's query
  }
}

TEST_CASE("web: --dev-login signs in through a form, bound to the browser like a real sign-in") {
  World w;
  w.options.dev_login = true;
  w.options.public_url = "http://127.0.0.1:8080";
  w.start();
  Browser dev{w};
  Answer form = dev.get("/login");
  CHECK(form.status == 200);
  CHECK(form.body.find("name=\"address\"") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(form.body, m, std::regex(R"(name="state" value="([^"]+)\")")));
  std::string state = m[1];
  Browser other{w};
  CHECK(other.post("/login", "address=root%40x.org&state=" + form_encoded(state)).status == 400);
  Answer again = dev.get("/login");
  REQUIRE(std::regex_search(again.body, m, std::regex(R"(name="state" value="([^"]+)\")")));
  Answer done = dev.post("/login", "address=alice%40x.org&state=" + form_encoded(m[1].str()));
  CHECK(done.status == 303);
  CHECK(dev.get("/accounts").status == 200);
  CHECK(dev.get("/callback?code=x&state=y").status == 404);
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("web: purge drops sign-ins and sessions past their lifetimes") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  Browser half{w};
  REQUIRE(half.get("/login").status == 303);  // begun, never finished
  CHECK(w.app->purge() == 0);
  w.now += w.options.sign_in_lifetime + std::chrono::seconds(1);
  CHECK(w.app->purge() == 1);  // the unfinished sign-in
  CHECK(alice.get("/accounts").status == 200);
  w.now += w.options.session_idle + std::chrono::seconds(1);
  CHECK(w.app->purge() == 1);  // alice's session, idle too long
}

TEST_SUITE("threaded") {
  TEST_CASE("web: people signing in and making accounts at once, each sees only their own") {
    World w;
    constexpr int kPeople = 4;
    constexpr int kAccounts = 5;
    std::vector<std::thread> people;
    std::atomic<int> failures{0};
    for (int p = 0; p < kPeople; ++p) {
      people.emplace_back([&, p] {
        Browser b{w};
        b.peer = "203.0.113." + std::to_string(p) + ":4000";
        std::string email = "person" + std::to_string(p) + "@x.org";
        if (b.sign_in(email).status != 303) ++failures;
        for (int a = 0; a < kAccounts; ++a) {
          std::string name = "p" + std::to_string(p) + "-app" + std::to_string(a);
          Answer created = b.submit("/accounts", "name=" + name);
          if (created.status != 200 || token_on(created).empty()) ++failures;
        }
        Answer mine = b.get("/accounts");
        for (int other = 0; other < kPeople; ++other) {
          bool shown =
              mine.body.find("/accounts/p" + std::to_string(other) + "-app") != std::string::npos;
          if (shown != (other == p)) ++failures;
        }
      });
    }
    for (std::thread& t : people) t.join();
    CHECK(failures == 0);
    CHECK(w.setup->list_users().size() == kPeople * kAccounts);
  }
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("web: an API key that expired is no key, and guessing keys is limited per address") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  Answer page = alice.submit("/apikeys", "label=short&expires=1h");
  REQUIRE(page.status == 200);
  std::string key = token_on(page);
  Browser script{w};
  std::map<std::string, std::string> bearer{{"Authorization", "Bearer " + key}};
  CHECK(script.request("GET", "/api/v1/accounts", "", bearer).status == 200);
  std::string expires = w.setup->api_keys_of("alice@x.org").at(0).expires_at;
  CHECK_FALSE(expires.empty());

  w.now += std::chrono::hours(1) + std::chrono::seconds(1);
  Answer expired = script.request("GET", "/api/v1/accounts", "", bearer);
  CHECK(expired.status == 401);
  CHECK(expired.as_json()["error"].get<std::string>().find("expired") != std::string::npos);
  CHECK(alice.submit("/apikeys", "label=bad&expires=soon").status == 400);

  // Wrong keys from one address: refused unchecked past the limit; another
  // address is not affected.
  Browser guesser{w};
  guesser.peer = "198.51.100.3:1000";
  int limited = 0;
  for (int i = 0; i < 30; ++i) {
    Answer a = guesser.request("GET", "/api/v1/accounts", "",
                               {{"Authorization", "Bearer ak_guess" + std::to_string(i)}});
    if (a.status == 429) ++limited;
  }
  CHECK(limited > 0);
  Answer other =
      script.request("GET", "/api/v1/accounts", "", {{"Authorization", "Bearer ak_wrong"}});
  CHECK(other.status == 401);
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("web: a request under another Host gets nothing (DNS rebinding)") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  CHECK(alice.request("GET", "/accounts", "", {{"Host", "pulse.example.org"}}).status == 200);
  CHECK(alice.request("GET", "/accounts", "", {{"Host", "PULSE.example.org:443"}}).status == 200);
  Answer rebound = alice.request("GET", "/accounts", "", {{"Host", "rebind.attacker.example"}});
  CHECK(rebound.status == 421);
  CHECK(rebound.body.find("/accounts/") == std::string::npos);
  CHECK(alice
            .request("POST", "/accounts", "csrf=" + form_encoded(alice.csrf()) + "&name=x",
                     {{"Host", "127.0.0.1:8080"}})
            .status == 421);
  CHECK_FALSE(w.setup->find_user("x"));
}

TEST_CASE("web: pages answer their own methods, and HEAD /login begins nothing") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  created_token(alice, "alice-app");
  CHECK(alice.request("DELETE", "/accounts/alice-app").status == 405);
  CHECK(w.setup->find_user("alice-app"));
  CHECK(alice.request("PUT", "/accounts").status == 405);
  CHECK(alice.request("POST", "/queues").status == 405);
  CHECK(alice.request("POST", "/admin").status == 404);  // not an admin: no such page
  CHECK(alice.request("HEAD", "/accounts").status == 200);
  CHECK(alice.request("HEAD", "/login").status == 405);
  // The API description needs no key, whatever Authorization says.
  CHECK(
      alice.request("GET", "/api/v1/openapi.json", "", {{"Authorization", "Bearer nope"}}).status ==
      200);
}

TEST_CASE("web: sign-ins begun are limited per client address") {
  World w;
  Browser flood{w};
  flood.peer = "198.51.100.20:5000";
  int limited = 0;
  for (int i = 0; i < 40; ++i) {
    if (flood.get("/login").status == 429) ++limited;
  }
  CHECK(limited >= 10);
  Browser alice{w};
  CHECK(alice.sign_in("alice@x.org").status == 303);
}

TEST_CASE("web: a queue is deleted only in one of its account's vhosts") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  created_token(alice, "alice-app");
  w.queues = {
      QueueInfo{"other", "queue/alice-app/q", 1, 0, true, false, false, {}, {}, {}, {}, {}, {}, {}},
      QueueInfo{"/", "queue/alice-app/q", 1, 0, true, false, false, {}, {}, {}, {}, {}, {}, {}}};
  CHECK(alice.submit("/queues/delete", "vhost=other&name=queue%2Falice-app%2Fq").status == 404);
  CHECK(alice.submit("/queues/delete", "vhost=..&name=queue%2Falice-app%2Fq").status == 404);
  CHECK(w.queues.size() == 2);
  CHECK(alice.submit("/queues/delete", "vhost=%2F&name=queue%2Falice-app%2Fq").status == 303);
  CHECK(w.queues.size() == 1);
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("web: narrowing --allow-domain ends the sessions and keys it no longer allows") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  std::string key = token_on(alice.submit("/apikeys", "label=ci"));
  Browser script{w};
  std::map<std::string, std::string> bearer{{"Authorization", "Bearer " + key}};
  CHECK(script.request("GET", "/api/v1/accounts", "", bearer).status == 200);

  w.options.allow_domains = {"y.org"};  // a restart with the new setting, same database
  w.start();
  CHECK(alice.get("/accounts").status == 303);  // signed out
  Answer refused = script.request("GET", "/api/v1/accounts", "", bearer);
  CHECK(refused.status == 401);
  CHECK(refused.as_json()["error"].get<std::string>().find("may no longer sign in") !=
        std::string::npos);
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("web: a refused owner change shows the account's page with why, at the top") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  created_token(alice, "alice-app");
  Answer bad =
      alice.submit("/accounts/alice-app/owners", "email=" + form_encoded("not an address"));
  CHECK(bad.status == 400);
  CHECK(bad.body.find("invalid owner address") != std::string::npos);
  CHECK(bad.body.find("name=\"email\"") != std::string::npos);  // the form is there
  Answer last = alice.submit("/accounts/alice-app/owners/remove", "email=alice%40x.org");
  CHECK(last.status == 409);
  CHECK(last.body.find("last owner") != std::string::npos);
  Answer unconfirmed = alice.submit("/accounts/alice-app/delete", "confirm=nope");
  CHECK(unconfirmed.body.find("Nothing was deleted") != std::string::npos);
}

TEST_CASE("web: signing in again in the same browser ends its old session") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  std::string first = alice.cookies.at("__Host-authsvc_session");
  alice.sign_in("alice@x.org");
  CHECK(alice.cookies.at("__Host-authsvc_session") != first);
  Browser replay{w};
  replay.cookies["__Host-authsvc_session"] = first;
  CHECK(replay.get("/accounts").status == 303);
}

TEST_CASE("web: every API key ends: the longest life is the default, and longer is refused") {
  World w;
  w.options.api_key_lifetime = std::chrono::days(30);
  w.start();
  Browser alice{w};
  alice.sign_in("alice@x.org");
  CHECK(alice.get("/apikeys").body.find("30d") != std::string::npos);
  REQUIRE(token_on(alice.submit("/apikeys", "label=default")).rfind("ak_", 0) == 0);
  ApiKeyInfo made = w.setup->api_keys_of("alice@x.org").at(0);
  CHECK(made.expires_at == rfc3339_utc(w.now + std::chrono::days(30)));

  Answer never = alice.submit("/apikeys", "label=forever&expires=never");
  CHECK(never.status == 400);
  CHECK(never.body.find("must end") != std::string::npos);
  Answer longer = alice.submit("/apikeys", "label=long&expires=31d");
  CHECK(longer.status == 400);
  CHECK(longer.body.find("at most 30d") != std::string::npos);
  CHECK(alice.submit("/apikeys", "label=exact&expires=30d").status == 200);
  CHECK(w.setup->api_keys_of("alice@x.org").size() == 2);
}

TEST_CASE("web: one person holds a bounded number of live API keys and of accounts") {
  World w;
  w.options.api_keys_per_person = 2;
  w.options.accounts_per_person = 2;
  w.start();
  Browser alice{w};
  alice.sign_in("alice@x.org");
  std::string first = token_on(alice.submit("/apikeys", "label=one"));
  REQUIRE_FALSE(first.empty());
  REQUIRE_FALSE(token_on(alice.submit("/apikeys", "label=two&expires=1h")).empty());
  Answer third = alice.submit("/apikeys", "label=three");
  CHECK(third.status == 403);
  CHECK(third.body.find("2 live API keys") != std::string::npos);
  // A revoked key, or one that expired, makes room.
  long long id = w.setup->api_keys_of("alice@x.org").back().id;
  REQUIRE(alice.submit("/apikeys/" + std::to_string(id) + "/revoke").status == 303);
  CHECK(alice.submit("/apikeys", "label=three").status == 200);
  CHECK(alice.submit("/apikeys", "label=four").status == 403);
  w.now += std::chrono::hours(1) + std::chrono::seconds(1);
  CHECK(alice.submit("/apikeys", "label=four").status == 200);

  created_token(alice, "alice-a");
  created_token(alice, "alice-b");
  Answer over = alice.submit("/accounts", "name=alice-c&expires=");
  CHECK(over.status == 403);
  CHECK(over.body.find("you have made 2 accounts") != std::string::npos);
  CHECK_FALSE(w.setup->find_user("alice-c"));
  // Through the API alike, with its JSON error.
  Answer api = alice.request("POST", "/api/v1/accounts", R"({"name":"alice-c"})",
                             {{"X-CSRF-Token", alice.csrf()}});
  CHECK(api.status == 403);
  CHECK(api.as_json()["error"].get<std::string>().find("you have made 2 accounts") !=
        std::string::npos);
  // Handing an account to someone else makes no room: what counts is who
  // made it. And bob, given it, is not counted for it.
  REQUIRE(alice.submit("/accounts/alice-a/owners", "email=bob%40x.org").status == 303);
  REQUIRE(alice.submit("/accounts/alice-a/owners/remove", "email=alice%40x.org").status == 303);
  CHECK(w.setup->find_user("alice-a")->owners == std::vector<std::string>{"bob@x.org"});
  CHECK(alice.submit("/accounts", "name=alice-c&expires=").status == 403);
  Browser bob{w};
  bob.sign_in("bob@x.org");
  created_token(bob, "bob-a");
  created_token(bob, "bob-b");
  // Deleted, by whoever owns it now, it no longer counts.
  REQUIRE(bob.submit("/accounts/alice-a/delete", "confirm=alice-a").status == 303);
  created_token(alice, "alice-c");
  // An admin is not limited.
  Browser root{w};
  root.sign_in("root@x.org");
  for (const char* name : {"root-a", "root-b", "root-c"}) created_token(root, name);
}

TEST_CASE("web: a deleted account's name is not claimed again, except by an admin") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  created_token(alice, "shared-app");
  REQUIRE(alice.submit("/accounts/shared-app/delete", "confirm=shared-app").status == 303);
  w.queues = {QueueInfo{
      "/", "queue/shared-app/left-behind", 5, 0, true, false, false, {}, {}, {}, {}, {}, {}, {}}};

  Browser mallory{w};
  mallory.sign_in("mallory@x.org");
  Answer claimed = mallory.submit("/accounts", "name=shared-app&expires=");
  CHECK(claimed.status == 409);
  CHECK(claimed.body.find("was deleted") != std::string::npos);
  CHECK_FALSE(w.setup->find_user("shared-app"));
  // Its former owner neither: the queues may be someone else's by now.
  CHECK(alice.submit("/accounts", "name=shared-app&expires=").status == 409);
  // A name that differs only in case is another name on the broker.
  created_token(mallory, "Shared-App");

  Browser root{w};
  root.sign_in("root@x.org");
  created_token(root, "shared-app");
  CHECK(w.setup->find_user("shared-app")->owners == std::vector<std::string>{"root@x.org"});
}

TEST_CASE("web: an admin ends a person's sessions and API keys, and no one else can") {
  World w;
  Browser bob{w};
  bob.sign_in("bob@x.org");
  created_token(bob, "bob-app");
  std::string key = token_on(bob.submit("/apikeys", "label=ci"));
  REQUIRE_FALSE(key.empty());
  Browser script{w};
  std::map<std::string, std::string> bearer{{"Authorization", "Bearer " + key}};
  REQUIRE(script.request("GET", "/api/v1/accounts", "", bearer).status == 200);
  Browser alice{w};
  alice.sign_in("alice@x.org");

  // Not an admin: as if there were no such page, and nothing ends.
  CHECK(alice.submit("/admin/access/revoke", "email=bob%40x.org").status == 404);
  CHECK(bob.get("/accounts").status == 200);

  Browser root{w};
  root.sign_in("root@x.org");
  CHECK(root.get("/admin").body.find("action=\"/admin/access/revoke\"") != std::string::npos);
  CHECK(root.post("/admin/access/revoke", "email=bob%40x.org").status == 403);  // no CSRF
  CHECK(bob.get("/accounts").status == 200);
  CHECK(root.submit("/admin/access/revoke", "email=not-an-address").status == 400);
  Answer ended = root.submit("/admin/access/revoke", "email=BOB%40x.org");
  CHECK(ended.status == 303);
  CHECK(ended.header("Location") == "/admin?notice=access-ended");

  CHECK(bob.get("/accounts").status == 303);  // back to signing in
  CHECK(script.request("GET", "/api/v1/accounts", "", bearer).status == 401);
  CHECK(alice.get("/accounts").status == 200);
  CHECK(w.setup->find_user("bob-app"));  // the accounts stay
  bool audited = false;
  for (const json& line : w.audit_lines()) {
    if (line["action"] == "web revoke" && line["decision"] == "ok") {
      audited = true;
      CHECK(line["operator"] == "root@x.org");
      CHECK(line["detail"] == "BOB@x.org: 1 sessions ended, 1 API keys revoked");
    }
  }
  CHECK(audited);
}

TEST_CASE("web: the rotate form posted again (a reload of the token page) rotates nothing") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  created_token(alice, "alice-app");
  std::smatch m;
  std::string page = alice.get("/accounts/alice-app").body;
  REQUIRE(std::regex_search(page, m, std::regex(R"(name="replaces" value="([^"]+)\")")));
  const std::string form = "replaces=" + form_encoded(m[1].str()) + "&grace=1m";
  CHECK(m[1].str() == w.setup->find_user("alice-app")->credential_issued_at);

  Answer rotated = alice.submit("/accounts/alice-app/rotate", form);
  REQUIRE(rotated.status == 200);
  std::string second = token_on(rotated);
  REQUIRE_FALSE(second.empty());
  const std::string issued = w.setup->find_user("alice-app")->credential_issued_at;

  Answer again = alice.submit("/accounts/alice-app/rotate", form);
  CHECK(again.status == 409);
  CHECK(again.body.find("rotated already") != std::string::npos);
  CHECK(token_on(again).empty());
  CHECK(w.setup->find_user("alice-app")->credential_issued_at == issued);
  // The first token is still in its grace: the reload did not end it.
  CHECK(w.setup->find_user("alice-app")->previous_issued_at == m[1].str());

  // A form from the page as it is now rotates.
  page = alice.get("/accounts/alice-app").body;
  REQUIRE(std::regex_search(page, m, std::regex(R"(name="replaces" value="([^"]+)\")")));
  CHECK(alice.submit("/accounts/alice-app/rotate", "replaces=" + form_encoded(m[1].str())).status ==
        200);
  CHECK(w.setup->find_user("alice-app")->credential_issued_at != issued);
}

TEST_CASE("web: a failure of any kind is a 500 with the security headers, as are refusals") {
  World w;
  Browser alice{w};
  auto check_headers = [](const Answer& a) {
    CHECK(a.header("Content-Security-Policy").find("default-src 'none'") != std::string::npos);
    CHECK(a.header("X-Frame-Options") == "DENY");
    CHECK(a.header("Referrer-Policy") == "no-referrer");
    CHECK(a.header("Cache-Control") == "no-store");
  };
  // Not one of authsvc's errors (a bug, memory): it must not unwind into
  // the HTTP library, which would end the process.
  w.open_app_store = []() -> std::unique_ptr<Store> { throw std::logic_error("secret detail"); };
  Answer failed = alice.get("/accounts");
  CHECK(failed.status == 500);
  CHECK(failed.body.find("something failed") != std::string::npos);
  CHECK(failed.body.find("secret detail") == std::string::npos);
  check_headers(failed);
  Answer api = alice.get("/api/v1/accounts");
  CHECK(api.status == 500);
  CHECK(api.as_json()["error"] == "something failed: try again later");
  std::vector<json> lines = w.audit_lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["status"] == 500);
  CHECK(lines[0]["reason"] == "secret detail");  // for the operator, in the audit log only

  // What the listener refuses before the app reads it (413 and the like).
  Headers none;
  HttpCall call{"POST", "/accounts", "", "", "", "203.0.113.9:4000", &none};
  HttpAnswer raw = w.app->refuse(call, 413, "request body too large");
  Answer refused{raw.status, raw.body, raw.content_type, {}};
  for (const auto& [name, value] : raw.headers) refused.headers.emplace(name, value);
  CHECK(refused.status == 413);
  check_headers(refused);
  lines = w.audit_lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[2]["action"] == "refused");
  CHECK(lines[2]["from"] == "203.0.113.9");
  CHECK(lines[2]["reason"] == "request body too large");
}

TEST_CASE(
    "web: queue pages reuse the broker's list, and its failure, for a while, but show a deletion") {
  World w;
  w.options.queue_list_max_age = std::chrono::seconds(5);
  w.start();
  Browser alice{w};
  alice.sign_in("alice@x.org");
  created_token(alice, "alice-app");
  w.queues = {
      QueueInfo{"/", "queue/alice-app/a", 1, 0, true, false, false, {}, {}, {}, {}, {}, {}, {}},
      QueueInfo{"/", "queue/alice-app/b", 2, 0, true, false, false, {}, {}, {}, {}, {}, {}, {}}};
  Answer first = alice.get("/queues");
  CHECK(first.body.find("queue/alice-app/a") != std::string::npos);
  CHECK(w.broker.calls == 1);
  CHECK(alice.get("/accounts/alice-app").body.find("queue/alice-app/b") != std::string::npos);
  CHECK(w.broker.calls == 1);

  REQUIRE(alice.submit("/queues/delete", "vhost=%2F&name=queue%2Falice-app%2Fa").status == 303);
  Answer after = alice.get("/queues");
  CHECK(after.body.find("queue/alice-app/a") == std::string::npos);
  CHECK(after.body.find("queue/alice-app/b") != std::string::npos);
  CHECK(w.broker.calls == 2);

  // Down: one page waits for it, the next ones are told at once.
  w.broker.down = true;
  w.now += std::chrono::seconds(5);
  CHECK(alice.get("/queues").body.find("did not answer") != std::string::npos);
  CHECK(w.broker.calls == 3);
  w.broker.down = false;
  CHECK(alice.get("/queues").body.find("did not answer") != std::string::npos);
  CHECK(alice.request("GET", "/api/v1/queues").status == 503);
  CHECK(w.broker.calls == 3);
  w.now += std::chrono::seconds(5);
  CHECK(alice.get("/queues").body.find("queue/alice-app/b") != std::string::npos);
  CHECK(w.broker.calls == 4);
}

TEST_CASE("web: an IPv6 client is limited by its /64, however many of its addresses it uses") {
  World w;
  int limited = 0;
  for (int i = 0; i < 30; ++i) {
    Browser guesser{w};
    guesser.peer = "2001:db8:1:2::" + std::to_string(i + 1) + ":4000";
    Answer a = guesser.request("GET", "/api/v1/accounts", "",
                               {{"Authorization", "Bearer ak_guess" + std::to_string(i)}});
    if (a.status == 429) ++limited;
  }
  CHECK(limited > 0);
  // Another /64 is another client.
  Browser neighbour{w};
  neighbour.peer = "2001:db8:1:3::1:4000";
  CHECK(
      neighbour.request("GET", "/api/v1/accounts", "", {{"Authorization", "Bearer ak_x"}}).status ==
      401);
}

TEST_CASE("web: a co-owner's address is in an allowed domain, as a signed-in person's is") {
  World w;
  w.options.allow_domains = {"x.org"};
  w.start();
  Browser alice{w};
  alice.sign_in("alice@x.org");
  created_token(alice, "alice-app");
  Answer refused = alice.submit("/accounts/alice-app/owners", "email=eve%40elsewhere.example");
  CHECK(refused.status == 400);
  CHECK(refused.body.find("addresses are in x.org") != std::string::npos);
  CHECK(w.setup->find_user("alice-app")->owners == std::vector<std::string>{"alice@x.org"});
  CHECK(alice.submit("/accounts/alice-app/owners", "email=bob%40x.org").status == 303);
}

TEST_CASE("web: a key older than --api-key-lifetime is refused, whatever its own expiry says") {
  World w;
  w.options.api_key_lifetime = std::chrono::days(30);
  w.start();
  // Made before keys had to end: no expiry of its own.
  NewApiKey old = w.setup->add_api_key("alice@x.org", "from before", "");
  testing::record_issued_token(old.key);
  Browser script{w};
  std::map<std::string, std::string> bearer{{"Authorization", "Bearer " + old.key}};
  CHECK(script.request("GET", "/api/v1/accounts", "", bearer).status == 200);
  // The store stamped the key with the system clock, a little after the
  // app's clock was set: 30 days from the stamp, by that clock.
  std::optional<std::int64_t> created_ms =
      rfc3339_to_unix_ms(w.setup->find_api_key(hash_token(old.key))->created_at);
  REQUIRE(created_ms);
  w.now = std::chrono::system_clock::time_point(std::chrono::milliseconds(*created_ms)) +
          std::chrono::days(30) - std::chrono::seconds(1);
  CHECK(script.request("GET", "/api/v1/accounts", "", bearer).status == 200);
  w.now += std::chrono::seconds(1);
  Answer expired = script.request("GET", "/api/v1/accounts", "", bearer);
  CHECK(expired.status == 401);
  CHECK(expired.as_json()["error"].get<std::string>().find("keys live at most 30d") !=
        std::string::npos);
}

TEST_CASE("web: the new-key form sent again (a reload of the key's page) makes no other key") {
  World w;
  Browser alice{w};
  alice.sign_in("alice@x.org");
  std::smatch m;
  std::string page = alice.get("/apikeys").body;
  REQUIRE(std::regex_search(page, m, std::regex(R"(name="newest" value="([0-9]+)\")")));
  CHECK(m[1].str() == "0");
  const std::string form = "label=ci&newest=0";
  REQUIRE_FALSE(token_on(alice.submit("/apikeys", form)).empty());
  Answer again = alice.submit("/apikeys", form);
  CHECK(again.status == 409);
  CHECK(again.body.find("no other key was made") != std::string::npos);
  CHECK(token_on(again).empty());
  CHECK(w.setup->api_keys_of("alice@x.org").size() == 1);
  // The page shown then carries the new newest key: from it, one more.
  REQUIRE(std::regex_search(again.body, m, std::regex(R"(name="newest" value="([0-9]+)\")")));
  CHECK(m[1].str() == std::to_string(w.setup->api_keys_of("alice@x.org").at(0).id));
  CHECK(alice.submit("/apikeys", "label=ci2&newest=" + m[1].str()).status == 200);
  CHECK(alice.submit("/apikeys", "label=x&newest=abc").status == 400);
  CHECK(w.setup->api_keys_of("alice@x.org").size() == 2);
}

}  // namespace authsvc
