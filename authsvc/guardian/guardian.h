#pragma once
// The guardian: every `interval`, one look at the broker (management API)
// and the store, the actions plan_guardian() calls for, then the outbox.
//
// Order inside one action is what makes a restart safe:
//   - a warning (or an expiry notice) is recorded together with its mails,
//     one for each of the account's owners, in one transaction, and a mail
//     leaves the outbox only once the SMTP server took it;
//   - a deletion is recorded as "deleting" first, then the queue is deleted,
//     then the record goes and its mail is queued; a crash in between ends
//     the deletion and sends the mail at the next look.
// Every action is one audit line (actor "guardian"); so is every mail sent.
//
// Mail goes out oldest first. A mail the server turns down (a 4xx or 5xx to
// its recipient or content) is tried again after the delays in
// GuardianOptions, while the mail after it goes on; at the failure after
// the last delay it is dropped, with an audit line ("mail dropped") and a
// line on stderr. A server that cannot be used (down, TLS, authentication)
// ends the look's sending and costs no mail an attempt.
//
// Errors (broker, SMTP, database) never end the loop: it backs off, doubling
// the wait up to five minutes, and says so on stderr at most once a minute.
//
// With several nodes on one store, one guardian acts at a time: the one
// that holds the guardian lead (store/lead_lock.h, asked through
// GuardianOptions::lead). The others stand by, asking again every
// interval. The lead is asked again before each action and each mail, so
// that a guardian that lost it (its connection to the database gone)
// stops before its next one: what it did is in the store (notices, the
// outbox), and the next holder goes on from there.
//
// In a dry run nothing is changed, deleted, closed or sent: each action it
// would take, and each mail with its recipient and subject, is printed once
// to stderr, and the run keeps its would-be notices in memory.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "authsvc/core/audit_sink.h"
#include "authsvc/core/metrics.h"
#include "authsvc/core/report_limiter.h"
#include "authsvc/guardian/broker.h"
#include "authsvc/guardian/expiry_notice.h"
#include "authsvc/guardian/guardian_policy.h"
#include "authsvc/guardian/mailer.h"
#include "authsvc/guardian/queue_growth.h"
#include "authsvc/store/store.h"

namespace authsvc {

struct GuardianOptions {
  std::chrono::milliseconds interval{10000};
  QueueLimits limits;
  bool delete_noncompliant_exchanges = false;
  bool dry_run = false;
  // How long before an account's expiry its owners are told.
  std::vector<std::chrono::seconds> expiry_notice_leads = default_expiry_notice_leads();
  // The time of each look (expiry, grace); the system clock when empty.
  std::function<std::chrono::system_clock::time_point()> clock;
  // How long a mail the server turned down waits before its next try: after
  // its first failure, its second, ...; the failure after the last of these
  // drops it. Five tries over about two and a half hours by default.
  std::vector<std::chrono::milliseconds> mail_retry_delays = {
      std::chrono::minutes(1), std::chrono::minutes(5), std::chrono::minutes(30),
      std::chrono::hours(2)};
  // How long a user's queue may have no consumer before its owners are
  // told it is an orphan; nullopt: never.
  std::optional<std::chrono::seconds> orphan_after = std::chrono::hours(24);
  // Whether this guardian holds the lead now (server/lead.h): asked before
  // each look, action and mail. Empty: it always does (one guardian).
  std::function<bool()> lead;
  // Called before the look after one that failed: the store's reopen(). A
  // PostgreSQL connection that was lost (the server restarted, a standby
  // promoted) stays lost until its store reopens, so without this a
  // guardian would never look again. Empty: nothing to reopen.
  std::function<void()> reopen_store;
};

// What the guardian has done, for metrics and readiness: read from any
// thread while the loop runs.
struct GuardianFigures {
  static constexpr std::size_t kKinds =
      static_cast<std::size_t>(GuardianAction::Kind::orphan_notice) + 1;
  // Counted when a look ends, so that neither count ever goes down.
  std::atomic<std::uint64_t> ok_looks{0};
  std::atomic<std::uint64_t> failed_looks{0};  // the broker or the store could not be read
  std::atomic<std::uint64_t> queues_seen{0};   // at the last look
  // Actions taken (in a dry run: that would have been), by kind.
  std::array<std::atomic<std::uint64_t>, kKinds> actions{};
  std::atomic<std::uint64_t> action_failures{0};
  std::atomic<std::uint64_t> mails_sent{0};
  std::atomic<std::uint64_t> mails_failed{0};   // attempts the server turned down
  std::atomic<std::uint64_t> mails_dropped{0};  // after their last attempt
  // Whether it held the lead at its last ask (always, without a lead), how
  // often it took it, and since when it holds it (steady clock).
  std::atomic<bool> leading{true};
  std::atomic<std::uint64_t> leads_taken{0};
  std::atomic<std::chrono::steady_clock::rep> lead_since{0};
  // When the loop (run()) means to start its next look, after the interval
  // or its back-off (steady clock); 0: the loop has not started.
  std::atomic<std::chrono::steady_clock::rep> next_look{0};
  // The end of the last look that succeeded (steady clock); 0: none yet.
  std::atomic<std::chrono::steady_clock::rep> last_look{0};
  // Seconds a look takes, its mail included: 10 ms to 5 minutes.
  Histogram look_duration{{10'000'000, 50'000'000, 100'000'000, 250'000'000, 500'000'000,
                           1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000,
                           30'000'000'000, 60'000'000'000, 300'000'000'000}};
};

// How long the loop waits after a failed look, given its wait before: a
// look that failed (the broker, the store, a bug) doubles it, up to 5
// minutes, not to hammer a broker that is struggling; a store that could
// not be reopened is tried again after the interval, since a reopen is one
// connection attempt and the guardian should act again within one
// interval of its database's return, not minutes after.
std::chrono::milliseconds wait_after_failure(std::chrono::milliseconds wait,
                                             std::chrono::milliseconds interval,
                                             bool store_unreachable);

class Guardian {
 public:
  // `mailer` may be null only in a dry run. All must outlive the Guardian.
  Guardian(UserStore& users, GuardianStateStore& state, Broker& broker, Mailer* mailer,
           AuditSink& audit, GuardianOptions options);

  // One look and its actions, then the outbox. Returns the actions taken
  // (or, in a dry run, that would be): none while it stands by. Throws if
  // the broker or the store cannot be read; a failing action is reported
  // and retried next time.
  std::vector<GuardianAction> run_once();
  // run_once() every interval until stop(), backing off on errors.
  void run();
  void stop();  // from any thread

  // Mails the outbox (see the top), while it holds the lead. Returns how
  // many were sent.
  std::size_t send_outbox();

  const GuardianFigures& figures() const { return figures_; }
  const GuardianOptions& options() const { return options_; }

 private:
  std::vector<GuardianAction> look();
  // Asks the lead (options_.lead), keeping the figures.
  bool leading();
  void execute(const GuardianAction& action);
  void pretend(const GuardianAction& action);
  void audit(const GuardianAction& action, const std::string& detail);
  void audit_mail(const char* action, const std::string& detail);
  // A mail the server turned down: counted, and dropped after its last try.
  void mail_failed(const OutboxMail& mail, const MailError& error);

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
  std::vector<DeletedQueue> dry_deleted_queues_;
  std::vector<IdleQueue> dry_idle_queues_;
  // user -> (expires_at, lead) of the expiry notices the run would have sent.
  std::map<std::string, std::pair<std::string, std::int64_t>> dry_expiry_notices_;
  bool dry_state_loaded_ = false;
  // The queues' sizes at the recent looks: their pace, for warnings.
  QueueGrowth growth_;
  // Names reported as in both user databases: once a run each.
  std::set<std::string> reported_internal_users_;
  // Outbox ids of mails the server turned down, and when each may be tried
  // again. In memory: after a restart they are tried at once.
  std::map<std::int64_t, std::chrono::steady_clock::time_point> mail_not_before_;

  GuardianFigures figures_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace authsvc
