#include "authsvc/server/guardian_process.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <thread>

#include "authsvc/server/audit_log.h"

namespace authsvc {

GuardianProcess::GuardianProcess(const std::string& db_path, const GuardianConfig& config,
                                 AuditSink& audit) {
  store_ = open_store(db_path, Actor{"guardian", ""});
  api_ = std::make_unique<ManagementApi>(config.management);
  if (!config.mail.url.empty()) mailer_ = std::make_unique<SmtpMailer>(config.mail);
  guardian_ =
      std::make_unique<Guardian>(*store_, *store_, *api_, mailer_.get(), audit, config.options);
}

GuardianProcess::~GuardianProcess() = default;

int run_guardian(const std::string& db_path, const GuardianConfig& config,
                 const std::string& audit_log, bool once) {
  // As in serve: one thread takes the signals and asks the loop to stop.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  AuditLog audit(audit_log);
  GuardianProcess process(db_path, config, audit);
  if (once) {
    process.guardian().run_once();
    return audit.flush_for(std::chrono::seconds(5)) ? 0 : 1;
  }
  std::thread signal_waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    process.guardian().stop();
  });
  fmt::print(stderr,
             "authsvc guardian: watching {} every {} ms (warn at {}, delete at {} messages{})\n",
             config.management.url, config.options.interval.count(), config.options.limits.warn,
             config.options.limits.remove, config.options.dry_run ? "; dry run" : "");
  process.guardian().run();
  signal_waiter.join();
  if (!audit.flush_for(std::chrono::seconds(5))) return 1;
  fmt::print(stderr, "authsvc guardian: stopped\n");
  return 0;
}

}  // namespace authsvc
