// Signing in and out (web_app.h): GET /, /login, /callback, POST /logout,
// and the dev form's POST /login.
//
// A sign-in begins at /login: a state (sent to the provider) and a browser
// secret (a cookie, SameSite=Lax so that it survives the provider's
// redirect back) are drawn, and the store keeps their hashes. The nonce and
// the PKCE verifier are derived from the browser secret (web_secrets.h).
// At /callback the state is taken from the store, once: a replayed, forged
// or stale state, or one begun in another browser, is a 400 and no session.
#include <fmt/format.h>

#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/token.h"
#include "authsvc/web/client_address.h"
#include "authsvc/web/safe_next.h"
#include "authsvc/web/sign_in_policy.h"
#include "authsvc/web/web_error.h"
#include "authsvc/web/web_request.h"
#include "authsvc/web/web_secrets.h"

namespace authsvc {
namespace {

// The value of a query parameter ("" if absent); a malformed query is a 400.
std::string query_parameter(const Request& request, std::string_view name) {
  std::string error;
  std::optional<Form> query = Form::decode(request.call.query, &error);
  if (!query) throw WebError(400, "the query string could not be read: " + error);
  if (query->count(name) > 1) throw WebError(400, fmt::format("'{}' is given twice", name));
  const std::string_view* value = query->find(name);
  return value ? std::string(*value) : std::string();
}

HttpAnswer begin_sign_in(Request& request) {
  request.action = "sign-in start";
  WebApp::State& state = request.state;
  // Each begun sign-in is a row until it is finished or purged.
  if (state.sign_ins.throttled(limit_key(request.client))) {
    throw WebError(429, "too many sign-ins begun from this address: try again in a minute");
  }
  state.sign_ins.record(limit_key(request.client), false);
  std::string browser_secret = generate_token();
  std::string sign_in_state = generate_token();
  std::string next = safe_next(query_parameter(request, "next"));
  request.store->put_sign_in(WebSignIn{hash_token(sign_in_state), hash_token(browser_secret), next,
                                       rfc3339_utc(request.now)});
  request.headers.emplace_back("Set-Cookie", state.cookies.set(kSignInCookie, browser_secret,
                                                               state.options.sign_in_lifetime));
  if (state.options.dev_login) {
    DevLoginPage page{request.frame("Sign in"), sign_in_state};
    return html_answer(200, render(page));
  }
  PendingSignIn secrets{sign_in_state, sign_in_nonce(browser_secret),
                        sign_in_code_verifier(browser_secret)};
  return redirect_answer(state.deps.identity->authorization_url(secrets));
}

// The sign-in `sign_in_state` began, taken from the store (used once),
// checked against this browser and its age. Returns the browser secret.
std::pair<WebSignIn, std::string> take_sign_in(Request& request, const std::string& sign_in_state) {
  if (sign_in_state.empty()) throw WebError(400, "the sign-in has no state");
  std::optional<WebSignIn> sign_in = request.store->take_sign_in(hash_token(sign_in_state));
  if (!sign_in) throw WebError(400, "no sign-in has this state (used already, or never begun)");
  std::optional<std::string_view> secret =
      cookie_value(request.call.header("Cookie"), request.state.cookies.name(kSignInCookie));
  if (!secret || !token_matches(*secret, sign_in->browser_hash)) {
    throw WebError(400, "the sign-in was begun in another browser");
  }
  std::optional<std::int64_t> began = rfc3339_to_unix_ms(sign_in->created_at);
  auto age = request.now -
             std::chrono::system_clock::time_point(std::chrono::milliseconds(began.value_or(0)));
  if (age > request.state.options.sign_in_lifetime) {
    throw WebError(400, "the sign-in took too long: begin again");
  }
  return {*sign_in, std::string(*secret)};
}

HttpAnswer finish_sign_in(Request& request, const WebSignIn& sign_in, const SignedIn& who) {
  request.detail = who.email.empty() ? "" : fmt::format("as {}", printable(who.email));
  std::string refusal = sign_in_refusal(who, request.state.options);
  if (!refusal.empty()) throw WebError(403, refusal);
  start_session(request, who.email);
  return redirect_answer(sign_in.next);
}

// A failed finish counts against the client's address; past the limit,
// every try from there is refused for a minute before it is looked at.
template <typename Finish>
HttpAnswer counted(Request& request, Finish&& finish) {
  request.action = "sign-in";
  WebApp::State& state = request.state;
  if (state.failures.throttled(limit_key(request.client))) {
    throw WebError(429, "too many failed sign-ins from this address: try again in a minute");
  }
  try {
    return finish();
  } catch (const WebError& e) {
    if (e.status() != 403) state.failures.record(limit_key(request.client), false);
    throw;
  }
}

HttpAnswer callback(Request& request) {
  return counted(request, [&] {
    std::string provider_error = query_parameter(request, "error");
    auto [sign_in, secret] = take_sign_in(request, query_parameter(request, "state"));
    if (!provider_error.empty()) {
      throw WebError(400, fmt::format("the provider did not sign you in: {}",
                                      printable(provider_error.substr(0, 100))));
    }
    std::string code = query_parameter(request, "code");
    if (code.empty()) throw WebError(400, "the provider's answer has no code");
    PendingSignIn secrets{"", sign_in_nonce(secret), sign_in_code_verifier(secret)};
    SignedIn who;
    try {
      who = request.state.deps.identity->finish_sign_in(code, secrets, request.now);
    } catch (const Error& e) {
      throw WebError(400, fmt::format("the provider's answer was refused: {}", e.what()));
    }
    return finish_sign_in(request, sign_in, who);
  });
}

HttpAnswer dev_sign_in(Request& request) {
  return counted(request, [&] {
    auto [sign_in, secret] = take_sign_in(request, request.field("state"));
    SignedIn who{"", request.field("address"), true, {}};
    return finish_sign_in(request, sign_in, who);
  });
}

HttpAnswer sign_out(Request& request) {
  request.action = "sign-out";
  require_csrf(request, request.field("csrf"));
  request.store->end_session(hash_token(request.session_id));
  request.headers.emplace_back("Set-Cookie", request.state.cookies.clear(kSessionCookie));
  return redirect_answer("/");
}

}  // namespace

void start_session(Request& request, const std::string& address) {
  WebApp::State& state = request.state;
  // Signing in again in the same browser replaces its session.
  if (!request.session_id.empty()) request.store->end_session(hash_token(request.session_id));
  std::string id = generate_token();
  const std::string now = rfc3339_utc(request.now);
  request.store->put_session(WebSession{hash_token(id), address, now, now});
  request.headers.emplace_back(
      "Set-Cookie", state.cookies.set(kSessionCookie, id, state.options.session_lifetime));
  request.headers.emplace_back("Set-Cookie", state.cookies.clear(kSignInCookie));
  request.person = Person{address, is_admin(address, state.options)};
  request.via = "session";
}

std::optional<HttpAnswer> route_sign_in(Request& request) {
  const std::vector<std::string>& s = request.segments;
  if (s.empty()) {
    if (!request.is("GET") && !request.is("HEAD")) throw WebError(405, "use GET");
    if (request.person) return redirect_answer("/accounts");
    return html_answer(200, render(HomePage{request.frame("Pulse accounts")}));
  }
  if (s.size() != 1) return std::nullopt;
  if (s[0] == "login") {
    if (request.is("GET")) return begin_sign_in(request);
    if (request.is("POST") && request.state.options.dev_login) return dev_sign_in(request);
    throw WebError(405, "use GET");
  }
  if (s[0] == "callback") {
    if (request.state.options.dev_login) throw WebError(404, "no such page");
    if (!request.is("GET")) throw WebError(405, "use GET");
    return callback(request);
  }
  if (s[0] == "logout") {
    if (!request.is("POST")) throw WebError(405, "use POST");
    return sign_out(request);
  }
  return std::nullopt;
}

}  // namespace authsvc
