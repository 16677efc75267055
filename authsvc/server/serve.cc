#include "authsvc/server/serve.h"

#include <fmt/format.h>

#include <thread>

#include "authsvc/core/auth_service.h"
#include "authsvc/core/text.h"
#include "authsvc/server/audit_log.h"
#include "authsvc/server/guardian_metrics.h"
#include "authsvc/server/http_server.h"
#include "authsvc/server/lead.h"
#include "authsvc/server/ops_listener.h"
#include "authsvc/server/rules_file.h"
#include "authsvc/server/serve_lock.h"
#include "authsvc/server/serve_metrics.h"
#include "authsvc/server/service_notifier.h"
#include "authsvc/server/signal_waiter.h"
#include "authsvc/server/store_watcher.h"
#include "authsvc/server/this_node.h"
#include "authsvc/store/store.h"

namespace authsvc {

int serve(ServeOptions options) {
  std::optional<ListenAddress> listen = parse_listen_address(options.listen);
  if (!listen) {
    fmt::print(stderr, "authsvc: --listen '{}' is not HOST:PORT\n", options.listen);
    return 1;
  }
  try {
    // Before any thread starts: they all inherit the blocked signals.
    SignalWaiter signals;
    std::shared_ptr<const Rules> rules = load_rules(options.rules_path);
    std::shared_ptr<const TlsCredentials> tls;
    if (!options.tls.cert_path.empty()) {
      std::vector<std::string> warnings;
      tls = std::make_shared<const TlsCredentials>(load_tls_credentials(options.tls, &warnings));
      for (const std::string& warning : warnings) {
        fmt::print(stderr, "authsvc: warning: {}\n", warning);
      }
    }
    std::unique_ptr<Store> store = open_store(options.store, Actor{"serve", ""});
    // Held until serve returns: `authsvc restore` asks for it (serve_lock.h).
    // Taken once the database is known to exist, so that a mistyped --db
    // leaves no lock file behind. A restore under way holds it for a few
    // seconds at most: wait, and load what it restored. A PostgreSQL store
    // has no file here, and no restore.
    std::optional<ServeLock> lock;
    if (!options.store.is_postgresql()) {
      lock = ServeLock::try_take(options.store.where, ServeLock::Holder::serve);
      if (!lock) {
        fmt::print(stderr, "authsvc: waiting for a restore of '{}' to finish\n",
                   printable(options.store.where));
        lock = ServeLock::take(options.store.where, ServeLock::Holder::serve);
      }
    }
    // Bound before the audit log opens: the default node name has its port.
    ListeningSocket listener(listen->host, listen->port);
    AuditLog audit(options.audit_log, this_node_name(options.node_name, listener.port()));
    SnapshotSource snapshots;
    // On PostgreSQL, the store's events (CLI, web) go to one node's audit
    // log: the holder of this lead (lead_lock.h). A SQLite store is one
    // file beside one serve, which copies them as it always has.
    std::unique_ptr<Lead> export_lead;
    std::function<bool()> exporting;
    if (options.store.is_postgresql()) {
      export_lead = std::make_unique<Lead>(open_lead_lock(options.store, LeadKind::audit_export),
                                           LeadKind::audit_export, "serve", "authsvc", audit);
      exporting = [lead = export_lead.get()] { return lead->check(); };
    }
    StoreWatcher watcher(*store, rules, snapshots, audit,
                         std::chrono::milliseconds(options.reload_interval_ms), exporting);
    LoginThrottle throttle(options.throttle);
    DecisionMetrics decisions(*rules);
    InternalUsers internal_users(options.internal_users);
    // The store may gain such an account later (the CLI does not know
    // serve's options): the audit line's reason says so then.
    for (const std::string& name : internal_users.names()) {
      if (snapshots.current()->find_user(name)) {
        fmt::print(stderr,
                   "authsvc: warning: --internal-user '{}' is also an authsvc account: its "
                   "requests are denied (rule internal-user) and its token is never checked\n",
                   printable(name));
      }
    }
    AuthService service(snapshots, audit, &throttle, &decisions, std::move(internal_users));
    HttpServerOptions http_options;
    http_options.threads = options.threads;
    http_options.tls = tls;
    HttpServer server(service, http_options);
    server.serve_on(std::move(listener));
    std::unique_ptr<GuardianProcess> guardian;
    if (options.guardian) {
      guardian = std::make_unique<GuardianProcess>(options.store, *options.guardian, audit);
    }
    MetricsRegistry metrics;
    register_process_metrics(metrics);
    decisions.register_in(metrics);
    register_listener_metrics(metrics, server);
    register_snapshot_metrics(metrics, snapshots, watcher);
    register_audit_metrics(metrics, audit);
    metrics.add("authsvc_audit_export_leader", MetricsRegistry::Type::gauge,
                "1 while this server copies the store's events (CLI, web) into its audit log, "
                "0 while another server does (as of the last events there were).",
                {}, [&export_lead] { return !export_lead || export_lead->held() ? 1.0 : 0.0; });
    if (guardian) register_guardian_metrics(metrics, guardian->guardian());
    if (guardian && guardian->sampler()) register_sampler_metrics(metrics, *guardian->sampler());
    std::unique_ptr<OpsListener> ops =
        start_ops_listener(options.ops.metrics_listen, metrics, [&]() -> std::string {
          std::string problem = snapshot_problem(snapshots, watcher, options.ops.ready_store_age);
          if (problem.empty() && guardian) {
            problem = guardian_problem(guardian->guardian(), options.ops.ready_store_age);
          }
          return problem.empty() ? audit_problem(audit) : problem;
        });
    watcher.start();
    std::thread guardian_thread;
    if (guardian) {
      guardian_thread = std::thread([&] { guardian->guardian().run(); });
      guardian->start_sampler();
    }
    // Fed while the event loop answers and the audit log keeps up: what a
    // restart would fix. A database that cannot be read is /readyz's: the
    // last snapshot still answers.
    ServiceNotifier notifier("authsvc", [&] { return liveness_problem(server, audit); });
    signals.start(
        [&] {
          notifier.stopping();
          server.stop();
        },
        [&] { reopen_on_sighup(audit, "authsvc"); });
    StopWaitingOnExit stop_waiting(signals);
    std::string scheme = "http";
    if (tls) {
      scheme = tls->verify_clients()
                   ? "https, client certificates from " + options.tls.client_ca_path
                   : "https, no client certificates";
    }
    fmt::print(stderr, "authsvc: listening on {}:{} ({}; {} users, rules from {}, audit to {})\n",
               listen->host, server.port(), scheme, snapshots.current()->user_count(),
               rules->source(), options.audit_log == "-" ? "stdout" : options.audit_log);
    if (ops) {
      fmt::print(stderr, "authsvc: metrics on {}\n",
                 metrics_url(options.ops.metrics_listen, ops->port()));
    }
    notifier.ready(fmt::format("listening on {}:{}, {} users", listen->host, server.port(),
                               snapshots.current()->user_count()));
    server.run();  // returns once SIGINT or SIGTERM has called stop()
    if (guardian) {
      guardian->guardian().stop();
      guardian_thread.join();
      guardian->stop_sampler();
    }
    watcher.stop();
    // A full disk must not keep the process from exiting: wait a little for
    // the audit log, then let its destructor report what is lost.
    if (!audit.flush_for(std::chrono::seconds(5))) {
      fmt::print(stderr, "authsvc: stopped with audit lines unwritten\n");
      return 1;
    }
    fmt::print(stderr, "authsvc: stopped\n");
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "authsvc: {}\n", e.what());
    return 1;
  }
}

}  // namespace authsvc
