#pragma once
// `authsvc web`: the web app (web_app.h) on its own listener, in a process
// of its own, until SIGINT or SIGTERM; SIGHUP reopens its audit log. It
// shares the database with serve and the CLI: what it changes reaches the
// broker's answers as the CLI's changes do.

#include <optional>
#include <string>

#include "authsvc/guardian/management_api.h"
#include "authsvc/server/ops_listener.h"
#include "authsvc/store/store.h"
#include "authsvc/web/web_options.h"

namespace authsvc {

struct OidcSettings {
  std::string issuer;
  std::string client_id;
  std::string client_secret;  // read from --oidc-client-secret-file
};

struct WebRunOptions {
  StoreLocation store;
  std::string listen = "127.0.0.1:8080";
  std::string audit_log = "-";
  // --node-name, checked (core/node_name.h); none: this_node_name()'s
  // default, with the port bound.
  std::optional<std::string> node_name;
  // More than serve's: a page may wait on the management API or the
  // provider, and holds its thread meanwhile.
  unsigned threads = 8;
  WebOptions web;
  std::optional<OidcSettings> oidc;             // nullopt: --dev-login
  std::optional<ManagementOptions> management;  // nullopt: no queue pages
  OpsSettings ops;                              // /metrics, /healthz, /readyz
};

// Why the options cannot run, one line; "" if they can: a dev login only on
// a loopback listener, a public URL that is http(s)://host[:port] (plain
// http only on a loopback host), OpenID Connect settings or a dev login.
std::string web_options_problem(const WebRunOptions& options);

// Returns the exit code; start-up failures print one line to stderr and
// return 1.
int run_web(WebRunOptions options);

}  // namespace authsvc
