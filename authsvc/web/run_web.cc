#include "authsvc/web/run_web.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "authsvc/core/text.h"
#include "authsvc/server/audit_log.h"
#include "authsvc/server/http_server.h"
#include "authsvc/server/serve_metrics.h"
#include "authsvc/server/service_notifier.h"
#include "authsvc/server/signal_waiter.h"
#include "authsvc/server/this_node.h"
#include "authsvc/store/store.h"
#include "authsvc/web/client_address.h"
#include "authsvc/web/oidc_client.h"
#include "authsvc/web/provider_url.h"
#include "authsvc/web/self_service.h"
#include "authsvc/web/web_app.h"

namespace authsvc {
namespace {

// A page that calls out (the provider at sign-in, the management API for
// queues) holds a listener thread until the answer or this: shorter than
// the guardian's, which runs in the background.
constexpr std::chrono::milliseconds kOutboundTimeout{5000};

// The host of "http://host[:port]" or "https://[v6]:port", or "" if the
// URL is not of that shape (no path, query, user or fragment).
std::string origin_host(const std::string& url, bool* https) {
  std::string_view rest = url;
  if (rest.rfind("https://", 0) == 0) {
    *https = true;
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    *https = false;
    rest.remove_prefix(7);
  } else {
    return "";
  }
  if (rest.empty() || rest.find_first_of("/?#@ \\") != std::string_view::npos) return "";
  if (rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return "";
    return std::string(rest.substr(1, close - 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

// Removes sign-ins and sessions past their time, once a minute, on a
// thread of its own, until stopped.
class Purger {
 public:
  explicit Purger(const WebApp& app) : thread_([this, &app] { run(app); }) {}
  ~Purger() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run(const WebApp& app) {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::minutes(1), [&] { return stopping_; })) {
      lock.unlock();
      try {
        app.purge();
      } catch (const std::exception& e) {
        fmt::print(stderr, "authsvc web: could not remove old sessions: {}\n", e.what());
      }
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

std::string web_options_problem(const WebRunOptions& options) {
  std::optional<ListenAddress> listen = parse_listen_address(options.listen);
  if (!listen) return fmt::format("--listen '{}' is not HOST:PORT", options.listen);
  bool https = false;
  std::string host = origin_host(options.web.public_url, &https);
  if (host.empty()) {
    return fmt::format("--public-url '{}' is not http(s)://HOST[:PORT] (no path)",
                       options.web.public_url);
  }
  if (!https && !is_loopback_host(host)) {
    return "--public-url must be https (plain http only on a loopback host): the session "
           "cookie would cross the network in clear";
  }
  for (const std::string& proxy : options.web.trusted_proxies) {
    if (std::string problem = trusted_proxy_problem(proxy); !problem.empty()) {
      return fmt::format("--trusted-proxy '{}' is not an address or ADDRESS/BITS: {}",
                         printable(proxy), problem);
    }
  }
  for (const std::string& pattern : options.web.reserve) {
    if (std::string problem = reserve_pattern_problem(pattern); !problem.empty()) {
      return fmt::format("--reserve '{}' is not a pattern: {}", pattern, problem);
    }
  }
  if (options.web.dev_login) {
    if (options.oidc) return "--dev-login replaces OpenID Connect: give one or the other";
    // Published through a proxy, anyone could sign in as an admin.
    if (!is_loopback_host(host) || !options.web.trusted_proxies.empty()) {
      return "--dev-login lets anyone sign in as anyone: its --public-url must be a loopback "
             "address, with no --trusted-proxy";
    }
    if (!is_loopback_host(listen->host)) {
      return fmt::format(
          "--dev-login lets anyone sign in as anyone: it listens on a loopback address only "
          "(127.0.0.0/8, ::1, localhost), not {}",
          listen->host);
    }
  } else if (!options.oidc) {
    return "give --oidc-issuer, --oidc-client-id and --oidc-client-secret-file, or --dev-login";
  }
  return "";
}

namespace {

// Ready: the provider's discovery document is loaded (it is fetched now if
// it is not), the database answers a read now, and the audit log keeps up.
std::string web_problem(OidcClient* oidc, const std::function<std::unique_ptr<Store>()>& open,
                        const AuditLog& audit) {
  if (oidc) {
    try {
      oidc->metadata();
    } catch (const std::exception& e) {
      return std::string("the identity provider's configuration is not loaded: ") + e.what();
    }
  }
  try {
    open()->schema_version();
  } catch (const std::exception& e) {
    return std::string("the database cannot be read: ") + e.what();
  }
  return audit_problem(audit);
}

}  // namespace

int run_web(WebRunOptions options) {
  if (std::string problem = web_options_problem(options); !problem.empty()) {
    fmt::print(stderr, "authsvc web: {}\n", problem);
    return 1;
  }
  std::optional<ListenAddress> listen = parse_listen_address(options.listen);
  try {
    // Before any thread starts: they all inherit the blocked signals.
    SignalWaiter signals;
    // Opened once here, so that a missing or newer database stops the start.
    std::unique_ptr<Store> first = open_store(options.store, Actor{"web", ""});
    // Bound before the audit log opens: the default node name has its port.
    ListeningSocket listener(listen->host, listen->port);
    AuditLog audit(options.audit_log, this_node_name(options.node_name, listener.port()));
    WebDependencies deps;
    std::shared_ptr<OidcClient> oidc_client;
    deps.open_store = [store = options.store] { return open_store(store, Actor{"web", ""}); };
    if (options.oidc) {
      OidcClientOptions oidc;
      oidc.issuer = options.oidc->issuer;
      oidc.client_id = options.oidc->client_id;
      oidc.client_secret = options.oidc->client_secret;
      oidc.redirect_uri = options.web.redirect_uri();
      oidc.timeout = kOutboundTimeout;
      oidc_client = std::make_shared<OidcClient>(oidc);
      deps.identity = oidc_client;
    }
    if (options.management) {
      ManagementOptions management = *options.management;
      management.timeout = std::min(management.timeout, kOutboundTimeout);
      ManagementApi check(management);  // refuses bad settings now
      deps.open_broker = [management] { return std::make_unique<ManagementApi>(management); };
    }
    deps.audit = &audit;
    WebMetrics web_metrics;
    deps.metrics = &web_metrics;
    WebApp app(options.web, deps);
    HttpServerOptions http_options;
    http_options.threads = options.threads;
    HttpServer server(app, http_options);
    server.serve_on(std::move(listener));
    MetricsRegistry metrics;
    register_process_metrics(metrics);
    web_metrics.register_in(metrics);
    register_listener_metrics(metrics, server);
    register_audit_metrics(metrics, audit);
    std::unique_ptr<OpsListener> ops = start_ops_listener(
        options.ops.metrics_listen, metrics,
        [&]() { return web_problem(oidc_client.get(), deps.open_store, audit); });
    Purger purger(app);
    // Fed while the event loop answers and the audit log keeps up; the
    // provider or the database failing is /readyz's (web_problem).
    ServiceNotifier notifier("authsvc web", [&] { return liveness_problem(server, audit); });
    signals.start(
        [&] {
          notifier.stopping();
          server.stop();
        },
        [&] { reopen_on_sighup(audit, "authsvc web"); });
    StopWaitingOnExit stop_waiting(signals);
    fmt::print(stderr, "authsvc web: listening on {}:{} for {} ({}; audit to {})\n", listen->host,
               server.port(), options.web.public_url,
               options.web.dev_login ? "DEVELOPMENT SIGN-IN: anyone can sign in as anyone"
                                     : "sign-in at " + options.oidc->issuer,
               options.audit_log == "-" ? "stdout" : options.audit_log);
    if (ops) {
      fmt::print(stderr, "authsvc web: metrics on {}\n",
                 metrics_url(options.ops.metrics_listen, ops->port()));
    }
    notifier.ready(fmt::format("listening on {}:{} for {}", listen->host, server.port(),
                               options.web.public_url));
    server.run();
    if (!audit.flush_for(std::chrono::seconds(5))) {
      fmt::print(stderr, "authsvc web: stopped with audit lines unwritten\n");
      return 1;
    }
    fmt::print(stderr, "authsvc web: stopped\n");
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "authsvc web: {}\n", e.what());
    return 1;
  }
}

}  // namespace authsvc
