#include "authsvc/guardian/guardian.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "authsvc/core/audit_line.h"
#include "authsvc/core/duration.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/guardian/guardian_mail.h"

namespace authsvc {

using Kind = GuardianAction::Kind;

Guardian::Guardian(UserStore& users, GuardianStateStore& state, Broker& broker, Mailer* mailer,
                   AuditSink& audit, GuardianOptions options)
    : users_(users),
      state_(state),
      broker_(broker),
      mailer_(mailer),
      audit_(audit),
      options_(options) {
  if (!mailer_ && !options_.dry_run) throw std::invalid_argument("guardian: no mailer");
  if (options_.lead) figures_.leading.store(false, std::memory_order_relaxed);
}

bool Guardian::leading() {
  if (!options_.lead) return true;
  const bool holds = options_.lead();
  if (holds && !figures_.leading.exchange(true, std::memory_order_relaxed)) {
    figures_.leads_taken.fetch_add(1, std::memory_order_relaxed);
    figures_.lead_since.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                              std::memory_order_relaxed);
  }
  if (!holds) figures_.leading.store(false, std::memory_order_relaxed);
  return holds;
}

void Guardian::audit(const GuardianAction& a, const std::string& detail) {
  AuditEvent event;
  event.ts = rfc3339_utc(std::chrono::system_clock::now());
  event.actor = "guardian";
  event.action = to_string(a.kind);
  event.user = a.owner;
  event.detail = detail;
  audit_.append(to_json_line(event));
}

namespace {

// What became of an action's mails, for its audit line.
std::string mailed(const GuardianAction& a, const std::vector<OutboxMail>& mails) {
  if (!mails.empty()) {
    std::vector<std::string> to;
    for (const OutboxMail& m : mails) to.push_back(m.recipient);
    return fmt::format("mail to {} queued", fmt::join(to, ", "));
  }
  if (!a.known_user) return "not mailed: authsvc has no account of that name";
  if (a.emails.empty()) return "not mailed: the account has no owner";
  return "no mail";
}

}  // namespace

void Guardian::execute(const GuardianAction& a) {
  ResourceKey key{a.vhost, a.name};
  std::vector<OutboxMail> mails = mails_for(a);
  std::string where = fmt::format("vhost='{}' ", a.vhost);
  switch (a.kind) {
    case Kind::warn_queue:
      state_.put_queue_notice(QueueNotice{key, a.owner, QueueNoticeState::warned, a.messages, ""},
                              mails);
      audit(a, fmt::format("{}queue='{}' messages={} warn_threshold={}; {}", where, a.name,
                           a.messages, a.threshold, mailed(a, mails)));
      return;
    case Kind::queue_back_to_normal:
      state_.remove_queue_notice(key, mails);
      audit(a, fmt::format("{}queue='{}' messages={} warn_threshold={}; {}", where, a.name,
                           a.messages, a.threshold, mailed(a, mails)));
      return;
    case Kind::delete_queue: {
      state_.put_queue_notice(QueueNotice{key, a.owner, QueueNoticeState::deleting, a.messages, ""},
                              {});
      bool existed = broker_.delete_queue(a.vhost, a.name);
      // Gone already: the management listing lags a deletion by a moment,
      // or the owner deleted it. Mail only if this guardian deleted it,
      // now or before a restart.
      if (!existed && a.notice_state != QueueNoticeState::deleting) {
        mails.clear();
        state_.remove_queue_notice(key, mails);
      } else {
        state_.record_queue_deleted(DeletedQueue{key, a.owner, "", a.messages, a.threshold}, mails);
      }
      audit(a, fmt::format("{}queue='{}' messages={} delete_threshold={}; {}{}{}", where, a.name,
                           a.messages, a.threshold, a.reason.empty() ? "" : a.reason + "; ",
                           existed ? "" : "it was gone already; ",
                           !mails.empty() || existed ? mailed(a, mails) : "no mail"));
      return;
    }
    case Kind::finish_queue_deletion:
      state_.record_queue_deleted(DeletedQueue{key, a.owner, "", a.messages, a.threshold}, mails);
      audit(a, fmt::format("{}queue='{}' messages={}; deletion confirmed after a restart; {}",
                           where, a.name, a.messages, mailed(a, mails)));
      return;
    case Kind::forget_queue_notice:
      state_.remove_queue_notice(key, {});
      audit(a, fmt::format("{}queue='{}'; {}", where, a.name, a.reason));
      return;
    case Kind::report_exchange:
      state_.put_exchange_notice(ExchangeNotice{key, a.owner, a.reason, ""}, mails);
      audit(a, fmt::format("{}exchange='{}' problem='{}'; {}", where, a.name, a.reason,
                           mailed(a, mails)));
      return;
    case Kind::delete_exchange: {
      bool existed = broker_.delete_exchange(a.vhost, a.name);
      state_.remove_exchange_notice(key, mails);
      audit(a, fmt::format("{}exchange='{}' problem='{}'; {}{}", where, a.name, a.reason,
                           existed ? "" : "it was gone already; ", mailed(a, mails)));
      return;
    }
    case Kind::forget_exchange_notice:
      state_.remove_exchange_notice(key, {});
      audit(a, fmt::format("{}exchange='{}'; compliant now, or gone", where, a.name));
      return;
    case Kind::close_connection: {
      bool existed = broker_.close_connection(a.name, "authsvc: " + a.reason);
      audit(a, fmt::format("{}connection='{}' reason='{}'{}", where, a.name, a.reason,
                           existed ? "" : "; it was closed already"));
      return;
    }
    case Kind::expiry_notice: {
      // False when the expiry changed since the look (renewed) or another
      // guardian sent it: nothing was recorded or queued, nothing to say.
      if (!state_.record_expiry_notice(a.owner, a.expires_at, a.lead, mails)) return;
      audit(a, fmt::format("expires_at={} notice={} before; {}", a.expires_at,
                           format_duration(std::chrono::seconds(a.lead)), mailed(a, mails)));
      return;
    }
    case Kind::report_internal_user:
      reported_internal_users_.insert(a.name);
      audit(a, a.reason);
      fmt::print(stderr, "authsvc guardian: warning: {}\n", a.reason);
      return;
    case Kind::cap_queue: {
      // Recorded first (with its mail, the first time only): a crash
      // before the policy is applied applies it at the next look.
      const bool first = a.notice_state != QueueNoticeState::capped;
      if (first) {
        state_.put_queue_notice(QueueNotice{key, a.owner, QueueNoticeState::capped, a.messages, ""},
                                mails);
      } else {
        mails.clear();
      }
      QueueInfo queue;
      queue.vhost = a.vhost;
      queue.name = a.name;
      queue.operator_policy = a.operator_policy;
      broker_.cap_queue(queue, a.threshold);
      audit(a, fmt::format("{}queue='{}' messages={} max_length={} policy='{}'{}; {}", where,
                           a.name, a.messages, a.threshold, cap_policy_name(a.vhost, a.name),
                           first ? "" : " (applied again)", first ? mailed(a, mails) : "no mail"));
      return;
    }
    case Kind::lift_cap: {
      bool existed = broker_.uncap_queue(a.vhost, a.name);
      state_.remove_queue_notice(key, mails);
      audit(a, fmt::format("{}queue='{}' messages={} policy='{}' reason='{}'{}; {}", where, a.name,
                           a.messages, cap_policy_name(a.vhost, a.name), a.reason,
                           existed ? "" : "; the policy was gone already", mailed(a, mails)));
      return;
    }
    case Kind::remove_cap: {
      bool existed = broker_.uncap_queue(a.vhost, a.name);
      state_.remove_queue_notice(key, {});
      audit(a, fmt::format("{}queue='{}' policy='{}'; {}{}", where, a.name,
                           cap_policy_name(a.vhost, a.name), a.reason,
                           existed ? "" : "; the policy was gone already"));
      return;
    }
    case Kind::recreated_queue:
      // False: another guardian told them first.
      if (!state_.forget_deleted_queue(key, mails)) return;
      audit(a, fmt::format("{}queue='{}' deleted_at={} messages={}; {}", where, a.name, a.since,
                           a.messages, mailed(a, mails)));
      return;
    case Kind::forget_deleted_queue:
      if (!state_.forget_deleted_queue(key, {})) return;
      audit(a, fmt::format("{}queue='{}' deleted_at={}; {}", where, a.name, a.since, a.reason));
      return;
    case Kind::note_idle_queue:
    case Kind::note_busy_queue:
      // Recorded together by look(), one transaction a look.
      return;
    case Kind::orphan_notice:
      if (!state_.record_orphan_notice(key, rfc3339_utc(std::chrono::system_clock::now()), mails)) {
        return;
      }
      audit(a, fmt::format("{}queue='{}' messages={} no_consumer_since={}; {}", where, a.name,
                           a.messages, a.since, mailed(a, mails)));
      return;
  }
}

void Guardian::pretend(const GuardianAction& a) {
  ResourceKey key{a.vhost, a.name};
  std::vector<OutboxMail> mails = mails_for(a);
  std::vector<std::string> to;
  for (const OutboxMail& m : mails) to.push_back(m.recipient);
  // Which queues have consumers is bookkeeping: not worth a line each.
  if (a.kind != Kind::note_idle_queue && a.kind != Kind::note_busy_queue) {
    fmt::print(stderr, "authsvc guardian: dry run: would {} '{}' (vhost '{}', owner {}{}{}){}\n",
               to_string(a.kind), a.name, a.vhost, a.owner,
               a.messages ? fmt::format(", {} messages", a.messages) : "",
               a.reason.empty() ? "" : ", " + a.reason,
               mails.empty() ? ""
                             : fmt::format("; would mail {}: \"{}\"", fmt::join(to, ", "),
                                           mails.front().subject));
  }
  auto drop_queue = [&] {
    std::erase_if(dry_queue_notices_, [&](const QueueNotice& n) { return n.queue == key; });
  };
  auto mark_capped = [&] {
    auto found = std::find_if(dry_queue_notices_.begin(), dry_queue_notices_.end(),
                              [&](const QueueNotice& n) { return n.queue == key; });
    if (found != dry_queue_notices_.end()) {
      found->state = QueueNoticeState::capped;
    } else {
      dry_queue_notices_.push_back(
          QueueNotice{key, a.owner, QueueNoticeState::capped, a.messages, ""});
    }
  };
  auto drop_exchange = [&] {
    std::erase_if(dry_exchange_notices_,
                  [&](const ExchangeNotice& n) { return n.exchange == key; });
  };
  switch (a.kind) {
    case Kind::warn_queue:
      dry_queue_notices_.push_back(
          QueueNotice{key, a.owner, QueueNoticeState::warned, a.messages, ""});
      return;
    case Kind::report_exchange:
      dry_exchange_notices_.push_back(ExchangeNotice{key, a.owner, a.reason, ""});
      return;
    case Kind::cap_queue:
      mark_capped();
      return;
    case Kind::queue_back_to_normal:
    case Kind::delete_queue:
    case Kind::finish_queue_deletion:
    case Kind::forget_queue_notice:
    case Kind::lift_cap:
    case Kind::remove_cap:
      drop_queue();
      return;
    case Kind::recreated_queue:
    case Kind::forget_deleted_queue:
      std::erase_if(dry_deleted_queues_, [&](const DeletedQueue& d) { return d.queue == key; });
      return;
    case Kind::note_idle_queue:
      dry_idle_queues_.push_back(IdleQueue{key, a.owner, a.since, ""});
      return;
    case Kind::note_busy_queue:
      std::erase_if(dry_idle_queues_, [&](const IdleQueue& q) { return q.queue == key; });
      return;
    case Kind::orphan_notice:
      for (IdleQueue& q : dry_idle_queues_) {
        if (q.queue == key) q.orphan_mailed_at = rfc3339_utc(std::chrono::system_clock::now());
      }
      return;
    case Kind::delete_exchange:
    case Kind::forget_exchange_notice:
      drop_exchange();
      return;
    case Kind::close_connection:
      return;
    case Kind::report_internal_user:
      reported_internal_users_.insert(a.name);
      return;
    case Kind::expiry_notice:
      dry_expiry_notices_[a.owner] = {a.expires_at, a.lead};
      return;
  }
}

std::vector<GuardianAction> Guardian::run_once() {
  // Standing by: another node's guardian acts. Not a look, good or bad.
  if (!leading()) return {};
  const auto started = std::chrono::steady_clock::now();
  std::vector<GuardianAction> done;
  try {
    done = look();
  } catch (...) {
    figures_.failed_looks.fetch_add(1, std::memory_order_relaxed);
    throw;
  }
  const auto ended = std::chrono::steady_clock::now();
  figures_.look_duration.observe(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(ended - started).count()));
  figures_.last_look.store(ended.time_since_epoch().count(), std::memory_order_relaxed);
  figures_.ok_looks.fetch_add(1, std::memory_order_relaxed);
  return done;
}

std::vector<GuardianAction> Guardian::look() {
  GuardianInput input;
  // The broker first: a store read after it sees every change made before.
  input.queues = broker_.queues();
  figures_.queues_seen.store(input.queues.size(), std::memory_order_relaxed);
  input.exchanges = broker_.exchanges();
  input.connections = broker_.connections();
  input.internal_users = broker_.internal_users();
  input.users = users_.list_users();
  input.deleted_users = users_.deleted_user_names();
  input.now = options_.clock ? options_.clock() : std::chrono::system_clock::now();
  growth_.record(input.queues, input.now);
  input.growth = growth_.rates();
  input.exempt_queues = state_.queue_exemptions();
  if (options_.dry_run) {
    if (!dry_state_loaded_) {
      dry_queue_notices_ = state_.queue_notices();
      dry_exchange_notices_ = state_.exchange_notices();
      dry_deleted_queues_ = state_.deleted_queues();
      if (options_.orphan_after) dry_idle_queues_ = state_.idle_queues();
      dry_state_loaded_ = true;
    }
    input.queue_notices = dry_queue_notices_;
    input.exchange_notices = dry_exchange_notices_;
    input.deleted_queues = dry_deleted_queues_;
    input.idle_queues = dry_idle_queues_;
    for (UserInfo& u : input.users) {
      auto sent = dry_expiry_notices_.find(u.name);
      if (sent != dry_expiry_notices_.end() && sent->second.first == u.expires_at) {
        u.expiry_notice_lead = sent->second.second;
      }
    }
  } else {
    input.queue_notices = state_.queue_notices();
    input.exchange_notices = state_.exchange_notices();
    input.deleted_queues = state_.deleted_queues();
    if (options_.orphan_after) input.idle_queues = state_.idle_queues();
  }
  input.orphan_after = options_.orphan_after;
  input.recreated_after = options_.interval;
  input.limits = options_.limits;
  input.delete_noncompliant_exchanges = options_.delete_noncompliant_exchanges;
  input.expiry_notice_leads = options_.expiry_notice_leads;
  input.reported_internal_users = reported_internal_users_;

  std::vector<GuardianAction> actions = plan_guardian(input);
  std::vector<GuardianAction> done;
  // Which queues have consumers is bookkeeping, not an event: one
  // transaction a look, no audit line; before the notices that read it.
  if (!options_.dry_run) {
    std::vector<IdleQueue> idle;
    std::vector<ResourceKey> busy;
    for (const GuardianAction& a : actions) {
      if (a.kind == Kind::note_idle_queue)
        idle.push_back(IdleQueue{{a.vhost, a.name}, a.owner, a.since, ""});
      if (a.kind == Kind::note_busy_queue) busy.push_back(ResourceKey{a.vhost, a.name});
    }
    if (!idle.empty() || !busy.empty()) {
      if (!leading()) return done;
      state_.update_idle_queues(idle, busy);
    }
  }
  for (const GuardianAction& a : actions) {
    // Lost meanwhile: the next holder plans what is left from the store,
    // and sends the outbox.
    if (!leading()) return done;
    auto& taken = figures_.actions[static_cast<std::size_t>(a.kind)];
    if (options_.dry_run) {
      pretend(a);
      done.push_back(a);
      taken.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    try {
      execute(a);
      done.push_back(a);
      taken.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::exception& e) {
      figures_.action_failures.fetch_add(1, std::memory_order_relaxed);
      // One failing action (a queue the broker refuses to delete) must not
      // hold up the others; the next look plans it again.
      fmt::print(stderr, "authsvc guardian: cannot {} '{}' (vhost '{}'): {}\n", to_string(a.kind),
                 a.name, a.vhost, e.what());
    }
  }
  if (!options_.dry_run) send_outbox();
  return done;
}

void Guardian::audit_mail(const char* action, const std::string& detail) {
  AuditEvent event;
  event.ts = rfc3339_utc(std::chrono::system_clock::now());
  event.actor = "guardian";
  event.action = action;
  event.detail = detail;
  audit_.append(to_json_line(event));
}

void Guardian::mail_failed(const OutboxMail& mail, const MailError& error) {
  figures_.mails_failed.fetch_add(1, std::memory_order_relaxed);
  const std::int64_t attempts = mail.attempts + 1;
  const auto& delays = options_.mail_retry_delays;
  if (attempts > static_cast<std::int64_t>(delays.size())) {
    figures_.mails_dropped.fetch_add(1, std::memory_order_relaxed);
    state_.remove_from_outbox(mail.id);
    mail_not_before_.erase(mail.id);
    audit_mail("mail dropped", fmt::format("to={} subject='{}' attempts={} last_error='{}'",
                                           mail.recipient, mail.subject, attempts, error.what()));
    fmt::print(stderr, "authsvc guardian: dropped the mail to {} (\"{}\") after {} attempts: {}\n",
               mail.recipient, mail.subject, attempts, error.what());
    return;
  }
  state_.outbox_failed(mail.id, error.what());
  auto delay = delays[static_cast<std::size_t>(attempts - 1)];
  mail_not_before_[mail.id] = std::chrono::steady_clock::now() + delay;
  if (mail_error_reports_.should_report()) {
    fmt::print(stderr,
               "authsvc guardian: the mail server {} the mail to {} ({}); attempt {} of {}, "
               "next in {} s\n",
               error.kind() == MailError::Kind::deferred ? "deferred" : "rejected", mail.recipient,
               error.what(), attempts, delays.size() + 1,
               std::chrono::duration_cast<std::chrono::seconds>(delay).count());
  }
}

std::size_t Guardian::send_outbox() {
  std::size_t sent = 0;
  const auto now = std::chrono::steady_clock::now();
  // Up to 100 mails a look that may be sent now: the ones waiting out a
  // retry delay are read too but skipped, and must not crowd newer mail out.
  constexpr std::size_t kMailsPerLook = 100;
  for (const OutboxMail& mail : state_.outbox(kMailsPerLook + mail_not_before_.size())) {
    auto not_before = mail_not_before_.find(mail.id);
    if (not_before != mail_not_before_.end() && now < not_before->second) continue;
    // Right before the hand-off to the server: a guardian that lost the
    // lead must not send what the next holder will send too. What is left
    // is a mail the server took just before a holder died, and before its
    // removal from the outbox was committed: the next holder sends it again
    // (README, "Several nodes").
    if (!leading()) break;
    std::optional<std::string> server_failure;
    try {
      mailer_->send(Mail{mail.recipient, mail.subject, mail.body});
    } catch (const MailError& e) {
      if (e.kind() != MailError::Kind::server) {
        mail_failed(mail, e);  // about this mail alone: the next one may well go
        continue;
      }
      server_failure = e.what();
    } catch (const std::exception& e) {
      server_failure = e.what();  // not a Mailer's own error: taken for the server's
    }
    if (server_failure) {
      figures_.mails_failed.fetch_add(1, std::memory_order_relaxed);
      // The server cannot be used: every other mail would fail the same
      // way, and none of them is to blame.
      if (mail_error_reports_.should_report()) {
        fmt::print(stderr, "authsvc guardian: cannot send mail ({}); will retry\n",
                   *server_failure);
      }
      break;
    }
    state_.remove_from_outbox(mail.id);
    mail_not_before_.erase(mail.id);
    mail_error_reports_.reset();
    ++sent;
    figures_.mails_sent.fetch_add(1, std::memory_order_relaxed);
    audit_mail("mail sent", fmt::format("to={} subject='{}' attempts={}", mail.recipient,
                                        mail.subject, mail.attempts + 1));
  }
  return sent;
}

std::chrono::milliseconds wait_after_failure(std::chrono::milliseconds wait,
                                             std::chrono::milliseconds interval,
                                             bool store_unreachable) {
  if (store_unreachable) return interval;
  return std::min<std::chrono::milliseconds>(wait * 2, std::chrono::minutes(5));
}

void Guardian::run() {
  auto wait = options_.interval;
  bool failed = false;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    figures_.next_look.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                             std::memory_order_relaxed);
    bool store_unreachable = false;
    try {
      if (failed && options_.reopen_store) {
        try {
          options_.reopen_store();
        } catch (...) {
          // A look that could not start: counted as failed, as the
          // operator's alert on failed looks expects through an outage.
          store_unreachable = true;
          figures_.failed_looks.fetch_add(1, std::memory_order_relaxed);
          throw;
        }
      }
      run_once();
      failed = false;
      wait = options_.interval;
      error_reports_.reset();
    } catch (const std::exception& e) {
      failed = true;
      // The lead as it is now, not as it was before the failure: a backoff
      // of minutes must not leave the metric saying it leads (its lock's
      // connection may have gone with the database).
      try {
        leading();
      } catch (const std::exception&) {
        figures_.leading.store(false, std::memory_order_relaxed);
      }
      if (error_reports_.should_report()) {
        fmt::print(stderr, "authsvc guardian: {}; {}\n", e.what(),
                   store_unreachable ? "retrying every interval"
                                     : "retrying, backing off up to 5 minutes");
      }
      wait = wait_after_failure(wait, options_.interval, store_unreachable);
    }
    figures_.next_look.store((std::chrono::steady_clock::now() + wait).time_since_epoch().count(),
                             std::memory_order_relaxed);
    lock.lock();
    wake_.wait_for(lock, wait, [&] { return stopping_; });
  }
}

void Guardian::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

}  // namespace authsvc
