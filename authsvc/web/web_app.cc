#include "authsvc/web/web_app.h"

#include <fmt/format.h>

#include <algorithm>

#include "authsvc/core/audit_line.h"
#include "authsvc/core/duration.h"
#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/token.h"
#include "authsvc/web/client_address.h"
#include "authsvc/web/sign_in_policy.h"
#include "authsvc/web/url_path.h"
#include "authsvc/web/web_error.h"
#include "authsvc/web/web_request.h"
#include "authsvc/web/web_secrets.h"

namespace authsvc {
namespace {

// 'self' only, and no inline script or style: an injected tag would run
// nothing. form-action keeps a form from posting elsewhere.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// A session is marked as used at most this often: a write per page view
// would cost more than the idle limit's precision is worth.
constexpr std::chrono::seconds kTouchEvery{60};

std::chrono::system_clock::time_point parse_time(const std::string& text) {
  std::optional<std::int64_t> ms = rfc3339_to_unix_ms(text);
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms.value_or(0)));
}

void add_security_headers(HttpAnswer& answer, bool static_file) {
  answer.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  answer.headers.emplace_back("X-Frame-Options", "DENY");
  answer.headers.emplace_back("X-Content-Type-Options", "nosniff");
  answer.headers.emplace_back("Referrer-Policy", "no-referrer");
  answer.headers.emplace_back("Cache-Control", static_file ? "public, max-age=3600" : "no-store");
}

bool is_api(const Request& request) {
  return !request.segments.empty() && request.segments[0] == "api";
}

bool is_api_description(const Request& request) {
  return request.segments == std::vector<std::string>{"api", "v1", "openapi.json"};
}

// The session the cookie names, if it is one and still alive.
void identify_by_session(Request& request) {
  std::optional<std::string_view> id =
      cookie_value(request.call.header("Cookie"), request.state.cookies.name(kSessionCookie));
  if (!id || id->empty()) return;
  TokenHash hash = hash_token(*id);
  std::optional<WebSession> session = request.store->find_session(hash);
  if (!session) return;
  const WebOptions& options = request.state.options;
  auto last_seen = parse_time(session->last_seen_at);
  auto created = parse_time(session->created_at);
  if (request.now - last_seen >= options.session_idle ||
      request.now - created >= options.session_lifetime ||
      !domain_allowed(session->address, options)) {
    request.store->end_session(hash);
    request.headers.emplace_back("Set-Cookie", request.state.cookies.clear(kSessionCookie));
    return;
  }
  if (request.now - last_seen >= kTouchEvery) {
    request.store->touch_session(hash, rfc3339_utc(request.now));
  }
  request.session_id = std::string(*id);
  request.csrf = csrf_token_for(*id);
  request.person = Person{session->address, is_admin(session->address, options)};
  request.via = "session";
}

// An API key in `Authorization: Bearer`, for the JSON API only. A key that
// is no key (unknown, revoked, expired) is a 401, counted against the
// client's address as a failed sign-in is.
void identify_by_api_key(Request& request) {
  std::string_view authorization = request.call.header("Authorization");
  if (authorization.empty()) return;
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      ascii_lower(authorization.substr(0, kBearer.size())) != "bearer ") {
    throw WebError(401, "the Authorization header must be: Bearer <API key>");
  }
  if (request.state.failures.throttled(limit_key(request.client))) {
    throw WebError(429, "too many failed sign-ins from this address: try again in a minute");
  }
  std::string_view key = authorization.substr(kBearer.size());
  std::optional<ApiKeyInfo> info = request.store->find_api_key(hash_token(key));
  std::string problem;
  if (!info) {
    problem = "unknown API key";
  } else if (!info->revoked_at.empty()) {
    problem = fmt::format("API key {} was revoked", info->id);
  } else if (!info->expires_at.empty() && parse_time(info->expires_at) <= request.now) {
    problem = fmt::format("API key {} expired", info->id);
  } else if (outlived(*info, request.state.options.api_key_lifetime, request.now)) {
    // Whatever its own expiry says: a key from before keys had to end
    // (none), or from when --api-key-lifetime was longer.
    problem = fmt::format("API key {} expired: keys live at most {} here", info->id,
                          format_duration(request.state.options.api_key_lifetime));
  } else if (!domain_allowed(info->address, request.state.options)) {
    problem =
        fmt::format("API key {} acts as an address that may no longer sign in here", info->id);
  }
  if (!problem.empty()) {
    request.state.failures.record(limit_key(request.client), false);
    throw WebError(401, problem);
  }
  if (info->last_used_at.empty() || request.now - parse_time(info->last_used_at) >= kTouchEvery) {
    request.store->touch_api_key(info->id, rfc3339_utc(request.now));
  }
  request.person = Person{info->address, is_admin(info->address, request.state.options)};
  request.via = fmt::format("apikey {}", info->id);
}

HttpAnswer static_answer(const Request& request) {
  const StaticFile* file =
      request.segments.size() == 2 ? find_static_file(request.segments[1]) : nullptr;
  if (!file || !(request.is("GET") || request.is("HEAD"))) {
    return HttpAnswer{404, "not found\n", "text/plain; charset=utf-8"};
  }
  return HttpAnswer{200, std::string(file->content), std::string(file->content_type)};
}

// The limits measure time on the app's clock, so that a test that moves it
// moves them too; they only ever take differences of it.
std::function<LoginThrottle::Clock::time_point()> limit_clock(
    std::function<std::chrono::system_clock::time_point()> clock) {
  return [clock = std::move(clock)] {
    return LoginThrottle::Clock::time_point(
        std::chrono::duration_cast<LoginThrottle::Clock::duration>(clock().time_since_epoch()));
  };
}

}  // namespace

std::unique_ptr<Store> StorePool::take() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Store> store = std::move(idle_.back());
      idle_.pop_back();
      return store;
    }
  }
  return open_();
}

void StorePool::give_back(std::unique_ptr<Store> store) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(store));
}

WebApp::State::State(WebOptions o, WebDependencies d)
    : options(std::move(o)),
      deps(std::move(d)),
      cookies{options.secure_cookies()},
      stores(deps.open_store),
      changes(LoginThrottleOptions{options.changes_per_minute, std::chrono::seconds(60),
                                   std::chrono::seconds(60)},
              limit_clock(deps.clock)),
      failures(LoginThrottleOptions{options.failed_sign_ins_per_minute, std::chrono::seconds(60),
                                    std::chrono::seconds(60)},
               limit_clock(deps.clock)),
      sign_ins(LoginThrottleOptions{options.sign_ins_per_minute, std::chrono::seconds(60),
                                    std::chrono::seconds(60)},
               limit_clock(deps.clock)),
      broker_queues(options.queue_list_max_age, options.queue_list_max_age, deps.clock),
      broker_exchanges(options.queue_list_max_age, options.queue_list_max_age, deps.clock),
      broker_activity(options.queue_list_max_age, options.queue_list_max_age, deps.clock) {}

WebApp::WebApp(WebOptions options, WebDependencies dependencies)
    : state_(std::make_unique<State>(std::move(options), std::move(dependencies))) {}

WebApp::~WebApp() = default;

std::string Request::field(std::string_view name) {
  if (!form_read_) {
    form_read_ = true;
    std::string error;
    form_ = Form::decode(call.body, &error);
    if (!form_) throw WebError(400, "the form could not be read: " + error);
  }
  if (form_->count(name) > 1) {
    throw WebError(400, fmt::format("the form gives '{}' more than once", name));
  }
  const std::string_view* value = form_->find(name);
  return value ? std::string(*value) : std::string();
}

SelfService Request::self_service() const {
  return SelfService(*store, *person, state.options, now);
}

PageFrame Request::frame(std::string title) const {
  PageFrame frame;
  frame.title = std::move(title);
  if (person) {
    frame.signed_in_as = person->address;
    frame.admin = person->admin;
  }
  frame.dev_login = state.options.dev_login;
  frame.csrf = csrf;
  return frame;
}

HttpAnswer html_answer(int status, std::string body) {
  return HttpAnswer{status, std::move(body), "text/html; charset=utf-8"};
}

HttpAnswer redirect_answer(const std::string& location) {
  HttpAnswer answer{303, "", "text/plain; charset=utf-8"};
  answer.headers.emplace_back("Location", location);
  return answer;
}

void require_csrf(Request& request, std::string_view presented) {
  if (request.session_id.empty()) {
    throw WebError(403, "not signed in: sign in, then try again");
  }
  if (presented.empty()) {
    throw WebError(403, "the form has no CSRF token: reload the page and try again");
  }
  if (!csrf_token_matches(presented, request.session_id)) {
    throw WebError(403, "the CSRF token is not this session's: reload the page and try again");
  }
}

void count_change(Request& request) {
  LoginThrottle& changes = request.state.changes;
  if (changes.throttled(request.person->address)) {
    throw WebError(429,
                   "too many new accounts, tokens and keys in a minute: try again in a minute");
  }
  changes.record(request.person->address, false);
}

HttpAnswer WebApp::handle(const HttpCall& call) const {
  State& state = *state_;
  Request request{call, state, state.deps.clock()};
  // Outside the try below, so that every audit line has it: what could
  // throw here (memory) the listener answers with a bare 500.
  request.client =
      client_address(call.peer, call.headers ? call.headers->get_all("X-Forwarded-For") : "",
                     state.options.trusted_proxies);
  std::optional<std::vector<std::string>> segments = path_segments(call.path);
  if (segments) request.segments = std::move(*segments);
  if (segments && !request.segments.empty() && request.segments[0] == "static") {
    HttpAnswer answer = static_answer(request);
    add_security_headers(answer, answer.status == 200);
    return answer;
  }

  std::unique_ptr<Store> store;
  HttpAnswer answer;
  std::string reason;
  std::optional<std::pair<int, std::string>> refusal;
  bool store_failed = false;
  try {
    if (!segments) throw WebError(400, "the path cannot be read");
    store = state.stores.take();
    store->set_actor(Actor{"web", ""});
    store->limit_changes_to_owner("");
    request.store = store.get();
    // A browser that reached this site under another name (DNS rebinding,
    // a proxy sending the wrong Host) gets nothing: the pages' origin is
    // public_url's alone.
    std::string_view host = call.header("Host");
    if (!host.empty() && !state.options.is_public_host(host)) {
      throw WebError(421, "this site is " + state.options.public_url);
    }
    if (is_api(request) && !is_api_description(request)) identify_by_api_key(request);
    if (!request.person) identify_by_session(request);
    if (request.person) {
      store->set_actor(Actor{"web", request.person->address});
      store->limit_changes_to_owner(request.person->address);
    }

    std::optional<HttpAnswer> routed = route_sign_in(request);
    if (!routed) routed = is_api(request) ? route_api(request) : route_pages(request);
    if (!routed) throw WebError(404, "no such page");
    answer = std::move(*routed);
  } catch (const WebError& e) {
    reason = e.what();
    refusal = {e.status(), e.what()};
  } catch (const StoreError& e) {
    store_failed = true;
    reason = e.what();
    refusal = {500, "the database failed: try again later"};
  } catch (const std::exception& e) {
    // Whatever it is (a bug, memory), it must not unwind into
    // libmicrohttpd: the process would end.
    store_failed = !dynamic_cast<const Error*>(&e);
    reason = e.what();
    refusal = {500, "something failed: try again later"};
  }
  if (refusal) {
    try {
      answer = error_answer(request, refusal->first, refusal->second);
    } catch (const std::exception& e) {
      reason += std::string("; the error page failed too: ") + e.what();
      answer = HttpAnswer{refusal->first, refusal->second + "\n", "text/plain; charset=utf-8"};
    }
  }
  if (store && !store_failed) state.stores.give_back(std::move(store));

  for (auto& header : request.headers) answer.headers.push_back(std::move(header));
  add_security_headers(answer, false);

  const std::string_view action = request.action.empty()
                                      ? (call.method == "GET" ? "view" : "request")
                                      : std::string_view(request.action);
  if (state.deps.audit) {
    WebRecord record;
    record.ts = request.now;
    record.operator_name = request.person ? std::string_view(request.person->address) : "";
    record.via = request.via;
    record.from = request.client;
    record.method = call.method;
    record.path = call.path;
    record.action = action;
    record.user = request.user;
    record.detail = request.detail;
    record.ok = answer.status < 400;
    record.status = answer.status;
    record.reason = reason;
    state.deps.audit->append(to_json_line(record));
  }
  if (state.deps.metrics) {
    state.deps.metrics->record(action, answer.status);
  }
  return answer;
}

HttpAnswer WebApp::refuse(const HttpCall& call, int status, std::string_view reason,
                          std::string_view /*rule*/) const {
  if (state_->deps.audit) {
    WebRecord record;
    record.ts = state_->deps.clock();
    std::string client = client_address(call.peer, "", {});
    record.from = client;
    record.method = call.method;
    record.path = call.path;
    record.action = "refused";
    record.status = status;
    record.reason = reason;
    state_->deps.audit->append(to_json_line(record));
  }
  if (state_->deps.metrics) state_->deps.metrics->record("refused", status == 0 ? 400 : status);
  HttpAnswer answer{status == 0 ? 400 : status, std::string(reason) + "\n",
                    "text/plain; charset=utf-8"};
  add_security_headers(answer, false);
  return answer;
}

std::size_t WebApp::purge() const {
  State& state = *state_;
  auto now = state.deps.clock();
  std::unique_ptr<Store> store = state.stores.take();
  std::size_t removed = store->purge_web_state(rfc3339_utc(now - state.options.sign_in_lifetime),
                                               rfc3339_utc(now - state.options.session_idle),
                                               rfc3339_utc(now - state.options.session_lifetime));
  state.stores.give_back(std::move(store));
  return removed;
}

}  // namespace authsvc
