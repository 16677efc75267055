#pragma once
// Inside the web app (web_app.h): one request as its routes see it, and
// what they share. The route files are web_sign_in.cc (sign-in and out),
// web_pages.cc (the pages) and web_api.cc (the JSON API).

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "authsvc/core/form.h"
#include "authsvc/core/login_throttle.h"
#include "authsvc/web/broker_listing_cache.h"
#include "authsvc/web/cookies.h"
#include "authsvc/web/pages.h"
#include "authsvc/web/self_service.h"
#include "authsvc/web/web_app.h"

namespace authsvc {

// Store connections, one per request in flight, kept for the next.
class StorePool {
 public:
  explicit StorePool(std::function<std::unique_ptr<Store>()> open) : open_(std::move(open)) {}
  std::unique_ptr<Store> take();
  // A connection that failed is not given back: the next request opens a
  // fresh one.
  void give_back(std::unique_ptr<Store> store);

 private:
  std::function<std::unique_ptr<Store>()> open_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Store>> idle_;
};

struct WebApp::State {
  State(WebOptions o, WebDependencies d);

  WebOptions options;
  WebDependencies deps;
  CookieJar cookies;
  StorePool stores;
  // Account creations and rotations, per person; failed sign-ins and
  // unknown API keys, per client address. Counted as LoginThrottle counts
  // failures: past the limit within a minute, refused for a minute.
  LoginThrottle changes;
  LoginThrottle failures;
  // Sign-ins begun, per client address: each is a row in the store until
  // it is finished or purged.
  LoginThrottle sign_ins;
  QueueListCache broker_queues;
  ExchangeListCache broker_exchanges;
  ActivityCache broker_activity;
};

// The names of the web's cookies (before the __Host- prefix).
inline constexpr std::string_view kSessionCookie = "authsvc_session";
inline constexpr std::string_view kSignInCookie = "authsvc_signin";

struct Request {
  Request(const HttpCall& c, WebApp::State& s, std::chrono::system_clock::time_point n)
      : call(c), state(s), now(n) {}

  const HttpCall& call;
  WebApp::State& state;
  std::chrono::system_clock::time_point now;
  std::string client;  // the client's address (behind a trusted proxy: the forwarded one)
  std::vector<std::string> segments;
  Store* store = nullptr;

  // Who asks: nobody, a session, or an API key.
  std::optional<Person> person;
  std::string via;         // "session", "apikey N"
  std::string session_id;  // the cookie's value, when a session is valid
  std::string csrf;        // the session's CSRF token

  // For the audit line.
  std::string action;
  std::string user;
  std::string detail;

  // More header fields for the answer (Set-Cookie).
  std::vector<std::pair<std::string, std::string>> headers;

  const std::string& segment(std::size_t i) const { return segments.at(i); }
  bool is(std::string_view method) const { return call.method == method; }
  // A field of the POST body (x-www-form-urlencoded), "" if absent; a body
  // that is not a form, or that repeats the field, is a 400.
  std::string field(std::string_view name);
  SelfService self_service() const;
  PageFrame frame(std::string title) const;

 private:
  std::optional<Form> form_;
  bool form_read_ = false;
};

// Answers.
HttpAnswer html_answer(int status, std::string body);
HttpAnswer redirect_answer(const std::string& location);
// The error page, or for the API {"error": ...}.
HttpAnswer error_answer(Request& request, int status, const std::string& message);

// The routes: each returns nullopt when the path is not its.
std::optional<HttpAnswer> route_sign_in(Request& request);
std::optional<HttpAnswer> route_pages(Request& request);
std::optional<HttpAnswer> route_api(Request& request);

// Sets up a session for `address`: the cookie, the store's row.
void start_session(Request& request, const std::string& address);

// The page-level guards: signed in (else a redirect to /login, or 401 for
// the API), and for a change, the CSRF token (403).
void require_csrf(Request& request, std::string_view presented);
// Counts an account creation, a rotation or a new API key against the
// person's limit; 429 past it.
void count_change(Request& request);

}  // namespace authsvc
