#pragma once
// authsvc web: self-service pages and a JSON API, answering on the same
// listener serve uses (server/http_server.h), in a process of its own.
//
// Routes (pages, HTML; every POST carries the session's CSRF token in the
// form field `csrf`):
//   GET  /                              signed out: sign-in link; else -> /accounts
//   GET  /login  [?next=PATH]           -> the provider (or the dev form)
//   POST /login                         the dev form (--dev-login only)
//   GET  /callback?code&state           the provider's answer: a session
//   POST /logout
//   GET  /accounts, /accounts/new, /accounts/NAME
//   POST /accounts                      name, expires -> the token, once
//   POST /accounts/NAME/rotate          grace -> the token, once
//   POST /accounts/NAME/owners          email
//   POST /accounts/NAME/owners/remove   email
//   POST /accounts/NAME/delete          confirm (the name, typed)
//   GET  /queues;  POST /queues/delete  vhost, name
//   GET  /exchanges, /exchanges/VHOST/NAME   the directory (any signed-in person)
//   GET  /apikeys; POST /apikeys        label, expires -> the key, once
//   POST /apikeys/ID/revoke
//   GET  /admin;   POST /admin/accounts/NAME/disable, .../enable
//   GET  /static/style.css, /static/app.js
// JSON API (web_api.cc), with `Authorization: Bearer <API key>`, or a
// session cookie plus the header X-CSRF-Token on changes:
//   GET/POST /api/v1/accounts, GET/DELETE /api/v1/accounts/NAME,
//   POST /api/v1/accounts/NAME/rotate, PUT/DELETE .../owners/ADDR,
//   GET /api/v1/queues, DELETE /api/v1/queues/VHOST/NAME,
//   GET /api/v1/exchanges, GET /api/v1/exchanges/VHOST/NAME,
//   GET /api/v1/openapi.json (no key needed).
//
// Every request but a static file leaves one audit line (core/audit_line.h,
// WebRecord): who, from where, what, and the outcome. Every answer carries
// a Content-Security-Policy that allows 'self' only, X-Frame-Options: DENY,
// Referrer-Policy: no-referrer, nosniff, and Cache-Control: no-store.

#include <chrono>
#include <functional>
#include <memory>

#include "authsvc/core/audit_sink.h"
#include "authsvc/core/http_call.h"
#include "authsvc/guardian/broker.h"
#include "authsvc/store/store.h"
#include "authsvc/web/identity_provider.h"
#include "authsvc/web/web_metrics.h"
#include "authsvc/web/web_options.h"

namespace authsvc {

struct WebDependencies {
  // A new connection to the store, audited as the web; one is opened per
  // concurrent request and kept for the next.
  std::function<std::unique_ptr<Store>()> open_store;
  // Null with --dev-login.
  std::shared_ptr<IdentityProvider> identity;
  // A new client of the management API; null when none is configured (the
  // queue pages then say so).
  std::function<std::unique_ptr<Broker>()> open_broker;
  AuditSink* audit = nullptr;
  WebMetrics* metrics = nullptr;  // null: none kept
  std::function<std::chrono::system_clock::time_point()> clock = std::chrono::system_clock::now;
};

class WebApp : public HttpHandler {
 public:
  WebApp(WebOptions options, WebDependencies dependencies);
  ~WebApp() override;
  WebApp(const WebApp&) = delete;
  WebApp& operator=(const WebApp&) = delete;

  HttpAnswer handle(const HttpCall& call) const override;
  HttpAnswer refuse(const HttpCall& call, int status, std::string_view reason,
                    std::string_view rule = "bad-request") const override;

  // Drops sign-ins and sessions past their lifetimes (web_command.cc calls
  // it every minute); returns how many went.
  std::size_t purge() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace authsvc
