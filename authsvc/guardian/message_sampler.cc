#include "authsvc/guardian/message_sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "authsvc/core/audit_line.h"
#include "authsvc/core/payload_sample.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/guardian/guardian_policy.h"
#include "authsvc/guardian/violation_mail.h"

namespace authsvc {

namespace {

constexpr std::chrono::milliseconds kMaxRetry = std::chrono::minutes(1);
// How long one pump() may read before run() looks at its clocks again.
constexpr std::chrono::milliseconds kMaxPump{1000};

}  // namespace

MessageSampler::MessageSampler(UserStore& users, ExchangeSampleStore& samples, Broker& broker,
                               SamplerLink& link, AuditSink& audit, SamplerOptions options)
    : users_(users),
      samples_(samples),
      broker_(broker),
      link_(link),
      audit_(audit),
      options_(std::move(options)),
      gap_(
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::minutes(1)) /
          std::max<std::int64_t>(options_.rate, 1)),
      tally_(options_.limits) {}

std::chrono::system_clock::time_point MessageSampler::now() const {
  return options_.clock ? options_.clock() : std::chrono::system_clock::now();
}

void MessageSampler::say(const std::string& line) const {
  if (options_.say) {
    options_.say(line);
  } else {
    fmt::print(stderr, "authsvc guardian: sampler: {}\n", line);
  }
}

bool MessageSampler::leading() const { return !options_.lead || options_.lead(); }

void MessageSampler::audit(const std::string& action, const std::string& user,
                           const std::string& detail) {
  AuditEvent event;
  event.ts = rfc3339_utc(std::chrono::system_clock::now());
  event.actor = "guardian";
  event.action = action;
  event.user = user;
  event.detail = detail;
  audit_.append(to_json_line(event));
}

void MessageSampler::refresh() {
  if (!leading()) {
    if (!link_.subscriptions().empty() || figures_.connected.load()) {
      link_.close();
      pace_.clear();
      figures_.exchanges = 0;
      figures_.connected = false;
    }
    return;
  }
  std::vector<ExchangeInfo> exchanges;
  try {
    exchanges = broker_.exchanges();
  } catch (const BrokerError& e) {
    // The management API, not the link: its queues stay as they are.
    throw std::runtime_error(fmt::format("the management API: {}", e.what()));
  }
  std::set<ResourceKey> wanted;
  for (const ExchangeInfo& exchange : exchanges) {
    if (owner_of("exchange", exchange.name)) wanted.insert({exchange.vhost, exchange.name});
  }
  for (const ResourceKey& key : link_.subscriptions()) {
    if (!wanted.contains(key)) {
      link_.unsubscribe(key);
      pace_.erase(key);
    }
  }
  for (const ResourceKey& key : wanted) link_.subscribe(key);
  figures_.exchanges = link_.subscriptions().size();
  figures_.connected = true;
}

void MessageSampler::handle(const SamplerDelivery& delivery) {
  stop_reasons_.erase(delivery.message.exchange);
  MessageInspection found = tally_.add(delivery.message, rfc3339_utc(now()));
  ++figures_.inspected;
  if (found.violations != 0) ++figures_.violations;
  // Held for the gap after its inspection: the broker sends the exchange's
  // next message only once this one is acknowledged.
  Pace& pace = pace_[delivery.message.exchange];
  pace.held = delivery;
  pace.held->message.payload.clear();
  pace.held->message.payload.shrink_to_fit();
  pace.next_ack = std::chrono::steady_clock::now() + gap_;
}

void MessageSampler::release_due() {
  auto t = std::chrono::steady_clock::now();
  for (auto& [exchange, pace] : pace_) {
    if (pace.held && t >= pace.next_ack) {
      link_.ack(*pace.held);
      pace.held.reset();
      pace.next_ack = t + gap_;
    }
  }
}

std::chrono::steady_clock::time_point MessageSampler::next_release() const {
  auto earliest = std::chrono::steady_clock::time_point::max();
  for (const auto& [exchange, pace] : pace_) {
    if (pace.held) earliest = std::min(earliest, pace.next_ack);
  }
  return earliest;
}

std::size_t MessageSampler::pump(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::size_t inspected = 0;
  for (;;) {
    release_due();
    auto t = std::chrono::steady_clock::now();
    if (t >= deadline) break;
    auto until = std::min(deadline, next_release());
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - t);
    std::optional<SamplerDelivery> delivery =
        link_.next(std::max(left, std::chrono::milliseconds(0)));
    if (delivery) {
      handle(*delivery);
      ++inspected;
    }
    for (const EndedSubscription& ended : link_.take_ended()) {
      pace_.erase(ended.exchange);
      // Mostly an exchange deleted since the last listing; one still
      // listed is subscribed again at the next refresh, and a cause that
      // lasts is audited once, not at every refresh.
      std::string& last = stop_reasons_[ended.exchange];
      if (last == ended.reason) continue;
      last = ended.reason;
      audit("sample stop", owner_of("exchange", ended.exchange.name).value_or(""),
            fmt::format("vhost='{}' exchange='{}': {}", ended.exchange.vhost, ended.exchange.name,
                        ended.reason));
    }
    figures_.exchanges = link_.subscriptions().size();
  }
  return inspected;
}

void MessageSampler::report() {
  for (ExchangeSample& sample : tally_.take()) unreported_.push_back(std::move(sample));
  if (!unreported_.empty()) {
    samples_.add_exchange_samples(unreported_);
    unreported_.clear();
  }
  if (leading()) queue_mails();
}

void MessageSampler::queue_mails() {
  const auto t = now();
  const std::string mailed_at = rfc3339_utc(t);
  const std::string not_mailed_after = rfc3339_utc(t - options_.mail_period);
  for (const ViolationMailDue& due :
       violation_mails_due(samples_.unmailed_violations(), t, options_.mail_period)) {
    std::string owner = owner_of("exchange", due.exchange.name).value_or("");
    std::optional<UserInfo> user = owner.empty() ? std::nullopt : users_.find_user(owner);
    std::vector<OutboxMail> mails;
    if (user) mails = violation_mails(due, owner, user->owners, options_.mail_period);
    if (!leading()) return;
    // Recorded even without a mail to send: the owner is told when there
    // is one to tell, not at every report.
    if (!samples_.record_violation_mail(due.exchange, due.violation.kind, due.violation.count,
                                        mailed_at, not_mailed_after, mails))
      continue;
    figures_.mails_queued += mails.size();
    std::vector<std::string> to;
    for (const OutboxMail& mail : mails) to.push_back(mail.recipient);
    std::string outcome = !mails.empty() ? fmt::format("mail to {} queued", fmt::join(to, ", "))
                          : !user ? std::string("not mailed: authsvc has no account of that name")
                                  : std::string("not mailed: the account has no owner");
    audit("report message violation", owner,
          fmt::format("vhost='{}' exchange='{}' kind={} count={} ({} new of {} inspected); {}",
                      due.exchange.vhost, due.exchange.name, violation_name(due.violation.kind),
                      due.violation.count, due.violation.count - due.violation.mailed_count,
                      due.inspected, outcome));
  }
}

void MessageSampler::connection_lost(const std::string& why) {
  link_.close();
  pace_.clear();
  figures_.exchanges = 0;
  figures_.connected = false;
  if (!link_down_) {
    ++figures_.connection_losses;
    say(fmt::format("{}; reconnecting with back-off", why));
    link_down_ = true;
    retry_ = std::chrono::milliseconds(1000);
  } else {
    retry_ = std::min(retry_ * 2, kMaxRetry);
  }
  retry_at_ = std::chrono::steady_clock::now() + retry_;
}

bool MessageSampler::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, d, [&] { return stopping_; });
  return !stopping_;
}

void MessageSampler::run() {
  auto next_refresh = std::chrono::steady_clock::now();
  auto next_report = next_refresh + options_.report;
  bool store_failed = false;
  auto stable_at = next_refresh;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    auto t = std::chrono::steady_clock::now();
    if (t >= next_refresh && (!link_down_ || t >= retry_at_)) {
      try {
        refresh();
        listing_errors_.reset();
        // Back once it has held for an interval: a broker that takes the
        // connection and drops it again is the same outage.
        if (link_down_) stable_at = t + options_.refresh;
        next_refresh = t + options_.refresh;
      } catch (const BrokerError& e) {
        connection_lost(e.what());
        next_refresh = retry_at_;
      } catch (const std::exception& e) {
        // The management API or the store; the link is fine.
        if (listing_errors_.should_report())
          say(fmt::format("cannot list the exchanges: {}", e.what()));
        next_refresh = t + options_.refresh;
      }
    }
    if (t >= next_report) {
      try {
        if (store_failed && options_.reopen_store) options_.reopen_store();
        report();
        store_failed = false;
        store_errors_.reset();
      } catch (const std::exception& e) {
        store_failed = true;
        if (store_errors_.should_report())
          say(fmt::format("cannot record the samples: {}", e.what()));
      }
      next_report = t + options_.report;
    }
    auto until = std::min({next_refresh, next_report, t + kMaxPump});
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (link_down_ && figures_.connected && std::chrono::steady_clock::now() >= stable_at) {
      say(fmt::format("connected again, sampling {} exchanges", figures_.exchanges.load()));
      link_down_ = false;
    }
    if (!figures_.connected) {
      if (!wait_for(std::max(wait, std::chrono::milliseconds(1)))) break;
      continue;
    }
    try {
      pump(std::max(wait, std::chrono::milliseconds(0)));
    } catch (const BrokerError& e) {
      connection_lost(e.what());
      next_refresh = retry_at_;
    }
  }
  link_.close();
}

void MessageSampler::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
}

}  // namespace authsvc
