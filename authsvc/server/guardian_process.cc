#include "authsvc/server/guardian_process.h"

#include <fmt/format.h>

#include "authsvc/server/audit_log.h"
#include "authsvc/server/guardian_metrics.h"
#include "authsvc/server/serve_metrics.h"
#include "authsvc/server/service_notifier.h"
#include "authsvc/server/signal_waiter.h"
#include "authsvc/server/this_node.h"

namespace authsvc {

GuardianProcess::GuardianProcess(const StoreLocation& db, const GuardianConfig& config,
                                 AuditSink& audit) {
  store_ = open_store(db, Actor{"guardian", ""});
  api_ = std::make_unique<ManagementApi>(config.management);
  if (!config.mail.url.empty()) mailer_ = std::make_unique<SmtpMailer>(config.mail);
  GuardianOptions options = config.options;
  // A dry run changes nothing and sends nothing: it says what it would do
  // on any node, holding no lead and keeping none from the guardian.
  if (!options.dry_run) {
    lead_ = std::make_unique<Lead>(open_lead_lock(db, LeadKind::guardian), LeadKind::guardian,
                                   "guardian", "authsvc guardian", audit);
    options.lead = [lead = lead_.get()] { return lead->check(); };
  }
  options.reopen_store = [store = store_.get()] { store->reopen(); };
  guardian_ = std::make_unique<Guardian>(*store_, *store_, *api_, mailer_.get(), audit, options);
  // A dry run sends nothing, so it samples nothing either: its queues
  // would be a change to the broker.
  if (config.sample_messages && !options.dry_run) {
    sampler_store_ = open_store(db, Actor{"guardian", ""});
    sampler_api_ = std::make_unique<ManagementApi>(config.management);
    sampler_link_ = std::make_unique<AmqpSamplerLink>(config.amqp);
    SamplerOptions sampling = config.sampler;
    // What the guardian's last ask found: Lead::check() is its thread's
    // alone, and the sampler follows the guardian within an interval.
    if (lead_) sampling.lead = [lead = lead_.get()] { return lead->held(); };
    sampling.reopen_store = [store = sampler_store_.get()] { store->reopen(); };
    sampler_ = std::make_unique<MessageSampler>(*sampler_store_, *sampler_store_, *sampler_api_,
                                                *sampler_link_, audit, sampling);
  }
}

GuardianProcess::~GuardianProcess() { stop_sampler(); }

void GuardianProcess::start_sampler() {
  if (sampler_ && !sampler_thread_.joinable())
    sampler_thread_ = std::thread([sampler = sampler_.get()] { sampler->run(); });
}

void GuardianProcess::stop_sampler() {
  if (!sampler_thread_.joinable()) return;
  sampler_->stop();
  sampler_thread_.join();
}

int run_guardian(const StoreLocation& db, const GuardianConfig& config,
                 const std::string& audit_log, const std::optional<std::string>& node_name,
                 bool once, const OpsSettings& ops) {
  // Before any thread starts: they all inherit the blocked signals.
  SignalWaiter signals;
  // The guardian listens on no port of its own: its node is named after
  // its metrics port when it has one, bound before the audit log opens.
  std::optional<ListeningSocket> ops_socket = open_ops_socket(ops.metrics_listen);
  std::optional<int> metrics_port;
  if (ops_socket) metrics_port = ops_socket->port();
  AuditLog audit(audit_log, this_node_name(node_name, metrics_port));
  GuardianProcess process(db, config, audit);
  MetricsRegistry metrics;
  register_process_metrics(metrics);
  register_guardian_metrics(metrics, process.guardian());
  if (process.sampler()) register_sampler_metrics(metrics, *process.sampler());
  register_audit_metrics(metrics, audit);
  std::unique_ptr<OpsListener> ops_listener =
      start_ops_listener(std::move(ops_socket), metrics, [&]() -> std::string {
        std::string problem = guardian_problem(process.guardian(), ops.ready_store_age);
        return problem.empty() ? audit_problem(audit) : problem;
      });
  if (once) {
    process.guardian().run_once();
    return audit.flush_for(std::chrono::seconds(5)) ? 0 : 1;
  }
  // Fed while the loop is not stuck and the audit log keeps up; a broker
  // that fails is /readyz's, not a reason to restart.
  ServiceNotifier notifier("authsvc guardian", [&]() -> std::string {
    std::string problem = guardian_loop_problem(process.guardian());
    return problem.empty() ? audit_problem(audit) : problem;
  });
  signals.start(
      [&] {
        notifier.stopping();
        process.guardian().stop();
      },
      [&] { reopen_on_sighup(audit, "authsvc guardian"); });
  StopWaitingOnExit stop_waiting(signals);
  fmt::print(stderr,
             "authsvc guardian: watching {} every {} ms (warn at {}, delete at {} messages{})\n",
             config.management.url, config.options.interval.count(), config.options.limits.warn,
             config.options.limits.remove, config.options.dry_run ? "; dry run" : "");
  if (ops_listener) {
    fmt::print(stderr, "authsvc guardian: metrics on {}\n",
               metrics_url(ops.metrics_listen, ops_listener->port()));
  }
  notifier.ready(fmt::format("watching {} every {} ms", config.management.url,
                             config.options.interval.count()));
  process.start_sampler();
  process.guardian().run();
  process.stop_sampler();
  if (!audit.flush_for(std::chrono::seconds(5))) return 1;
  fmt::print(stderr, "authsvc guardian: stopped\n");
  return 0;
}

}  // namespace authsvc
