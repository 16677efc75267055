#pragma once
// The guardian: every `interval`, one look at the broker (management API)
// and the store, the actions plan_guardian() calls for, then the outbox.
//
// Order inside one action is what makes a restart safe:
//   - a warning is recorded together with its mail in one transaction, and
//     the mail leaves the outbox only once the SMTP server took it;
//   - a deletion is recorded as "deleting" first, then the queue is deleted,
//     then the record goes and its mail is queued; a crash in between ends
//     the deletion and sends the mail at the next look.
// Every action is one audit line (actor "guardian"); so is every mail sent.
//
// Errors (broker, SMTP, database) never end the loop: it backs off, doubling
// the wait up to five minutes, and says so on stderr at most once a minute.
//
// In a dry run nothing is changed, deleted, closed or sent: each action it
// would take, and each mail with its recipient and subject, is printed once
// to stderr, and the run keeps its would-be notices in memory.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "authsvc/core/audit_sink.h"
#include "authsvc/core/report_limiter.h"
#include "authsvc/guardian/broker.h"
#include "authsvc/guardian/guardian_policy.h"
#include "authsvc/guardian/mailer.h"
#include "authsvc/store/store.h"

namespace authsvc {

struct GuardianOptions {
  std::chrono::milliseconds interval{10000};
  QueueLimits limits;
  bool delete_noncompliant_exchanges = false;
  bool dry_run = false;
};

class Guardian {
 public:
  // `mailer` may be null only in a dry run. All must outlive the Guardian.
  Guardian(UserStore& users, GuardianStateStore& state, Broker& broker, Mailer* mailer,
           AuditSink& audit, GuardianOptions options);

  // One look and its actions, then the outbox. Returns the actions taken
  // (or, in a dry run, that would be). Throws if the broker or the store
  // cannot be read; a failing action is reported and retried next time.
  std::vector<GuardianAction> run_once();
  // run_once() every interval until stop(), backing off on errors.
  void run();
  void stop();  // from any thread

  // Mails the outbox; stops at the first failure (the server is likely
  // down). Returns how many were sent.
  std::size_t send_outbox();

 private:
  void execute(const GuardianAction& action);
  void pretend(const GuardianAction& action);
  void audit(const GuardianAction& action, const std::string& detail);

  UserStore& users_;
  GuardianStateStore& state_;
  Broker& broker_;
  Mailer* mailer_;
  AuditSink& audit_;
  GuardianOptions options_;
  ReportLimiter error_reports_;
  ReportLimiter mail_error_reports_;
  // A dry run's would-be state, in place of the store's.
  std::vector<QueueNotice> dry_queue_notices_;
  std::vector<ExchangeNotice> dry_exchange_notices_;
  bool dry_state_loaded_ = false;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace authsvc
