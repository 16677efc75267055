#pragma once
// The guardian assembled for a process: the store, the broker's management
// API, the mail server and the loop, run on a thread of `serve --guardian`
// or as `authsvc guardian` of its own.

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "authsvc/core/audit_sink.h"
#include "authsvc/guardian/amqp_sampler_link.h"
#include "authsvc/guardian/guardian.h"
#include "authsvc/guardian/mailer.h"
#include "authsvc/guardian/management_api.h"
#include "authsvc/guardian/message_sampler.h"
#include "authsvc/server/lead.h"
#include "authsvc/server/ops_listener.h"
#include "authsvc/store/store.h"

namespace authsvc {

// Everything a guardian needs, its secrets read (the command line names
// password files; cli/guardian_cli.h reads them into this).
struct GuardianConfig {
  ManagementOptions management;
  MailServer mail;  // no url: no mail (a dry run)
  GuardianOptions options;
  // The message sampler, with --sample-messages: as the management API's
  // operator account, over AMQP.
  bool sample_messages = false;
  AmqpSamplerOptions amqp;
  SamplerOptions sampler;
};

class GuardianProcess {
 public:
  // Throws authsvc::Error if the store cannot be opened or a setting is
  // refused. The guardian acts only while it holds the guardian lead of
  // the store (lead.h): with several nodes on one PostgreSQL, one acts. A
  // dry run takes no lead.
  GuardianProcess(const StoreLocation& db, const GuardianConfig& config, AuditSink& audit);
  ~GuardianProcess();
  Guardian& guardian() { return *guardian_; }
  // Null without --sample-messages.
  MessageSampler* sampler() { return sampler_.get(); }
  // The sampler's thread beside the caller's loop (none without a
  // sampler), and its end.
  void start_sampler();
  void stop_sampler();

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<Lead> lead_;
  std::unique_ptr<ManagementApi> api_;
  std::unique_ptr<SmtpMailer> mailer_;
  std::unique_ptr<Guardian> guardian_;
  // The sampler's own: a store connection and a management API client are
  // used by one thread at a time.
  std::unique_ptr<Store> sampler_store_;
  std::unique_ptr<ManagementApi> sampler_api_;
  std::unique_ptr<AmqpSamplerLink> sampler_link_;
  std::unique_ptr<MessageSampler> sampler_;
  std::thread sampler_thread_;
};

// `authsvc guardian`: the loop until SIGINT or SIGTERM (or one look, with
// `once`), auditing to `audit_log`, which SIGHUP reopens (log rotation),
// as node `node_name` (none: the host name and the metrics port, or the
// host name alone; this_node.h); with `ops.metrics_listen`, its metrics and
// health there. Returns the exit code.
int run_guardian(const StoreLocation& db, const GuardianConfig& config,
                 const std::string& audit_log, const std::optional<std::string>& node_name,
                 bool once, const OpsSettings& ops = {});

}  // namespace authsvc
