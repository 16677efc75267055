#pragma once
// The guardian's message sampler (`--sample-messages`): on a thread of its
// own, it takes a few of the messages published on every Pulse exchange
// (exchange/<owner>/...), inspects each against the specification's rules
// for publishers (core/message_inspection.h), keeps what it saw in the
// store (ExchangeSampleStore), and mails the exchange's owners once per
// kind of violation per period.
//
// It reads through its own queue on each exchange (sampler_link.h), as
// the broker's operator account, never a Pulse account. At most `rate`
// messages an exchange a minute are inspected: each is inspected as it
// comes and acknowledged 60 s / rate later, and the broker sends the
// exchange's next message only then. Meanwhile the queue, bounded in length, bytes
// and age, drops what the sampler will never read.
//
// Every `refresh` it lists the exchanges (the management API) and follows
// them: new ones are subscribed, gone ones let go. Every `report` it
// writes what it counted to the store and queues the mails that are due.
// With several guardians on one store it samples only while its guardian
// holds the lead, so that one queue per exchange exists and one mail is
// sent.
//
// A broker that drops its connection is reported once on stderr, then
// tried again after 1 s, doubling up to a minute; its return is reported
// too. A store that fails keeps the counts for the next report.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "authsvc/core/audit_sink.h"
#include "authsvc/core/report_limiter.h"
#include "authsvc/guardian/broker.h"
#include "authsvc/guardian/exchange_tally.h"
#include "authsvc/guardian/sampler_link.h"
#include "authsvc/store/store.h"

namespace authsvc {

struct SamplerOptions {
  // Messages inspected per exchange per minute, at most.
  std::int64_t rate = 60;
  std::chrono::milliseconds refresh{10000};
  std::chrono::milliseconds report{10000};
  // One mail per exchange per kind of violation per this.
  std::chrono::seconds mail_period{86400};
  MessageLimits limits;
  // Whether its guardian holds the lead (guardian.h); empty: always.
  std::function<bool()> lead;
  // The time recorded and the mails' period are on this; empty: the
  // system clock.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Called before a report after one that failed: the store's reopen().
  std::function<void()> reopen_store;
  // Where its lines for the operator go (a lost connection, its return, a
  // store that fails); empty: stderr.
  std::function<void(const std::string&)> say;
};

// What the sampler has done, for metrics: read from any thread.
struct SamplerFigures {
  std::atomic<std::uint64_t> inspected{0};
  std::atomic<std::uint64_t> violations{0};  // messages with at least one
  std::atomic<std::uint64_t> exchanges{0};   // subscribed now
  std::atomic<std::uint64_t> mails_queued{0};
  std::atomic<std::uint64_t> connection_losses{0};
  std::atomic<bool> connected{false};
};

class MessageSampler {
 public:
  // All must outlive the sampler; the sampler is their only user.
  MessageSampler(UserStore& users, ExchangeSampleStore& samples, Broker& broker, SamplerLink& link,
                 AuditSink& audit, SamplerOptions options);

  // Until stop(): refresh, read, report, each when due.
  void run();
  void stop();  // from any thread

  // The steps run() takes, for tests. Each throws what its part throws.
  // Follows the exchanges while leading; lets go of all of them if not.
  void refresh();
  // Reads deliveries for up to `wait`, inspecting and acknowledging at
  // the rate; returns how many it inspected.
  std::size_t pump(std::chrono::milliseconds wait);
  // The counts to the store, then the mails due (while leading).
  void report();

  const SamplerFigures& figures() const { return figures_; }

 private:
  std::chrono::system_clock::time_point now() const;
  bool leading() const;
  void handle(const SamplerDelivery& delivery);
  // Acknowledges the held deliveries whose time has come.
  void release_due();
  // When the earliest held delivery may be acknowledged; max() for none.
  std::chrono::steady_clock::time_point next_release() const;
  void queue_mails();
  void audit(const std::string& action, const std::string& user, const std::string& detail);
  void connection_lost(const std::string& why);
  void say(const std::string& line) const;
  bool wait_for(std::chrono::milliseconds d);  // false once stopping

  UserStore& users_;
  ExchangeSampleStore& samples_;
  Broker& broker_;
  SamplerLink& link_;
  AuditSink& audit_;
  SamplerOptions options_;
  std::chrono::steady_clock::duration gap_;  // between two messages of an exchange
  ExchangeTally tally_;
  // Counted, not yet in the store (a report that failed keeps them).
  std::vector<ExchangeSample> unreported_;
  // The delivery of an exchange inspected last, until its acknowledgement.
  struct Pace {
    std::chrono::steady_clock::time_point next_ack{};
    std::optional<SamplerDelivery> held;
  };
  std::map<ResourceKey, Pace> pace_;
  bool link_down_ = false;
  std::chrono::milliseconds retry_{1000};
  std::chrono::steady_clock::time_point retry_at_{};
  ReportLimiter store_errors_;
  ReportLimiter listing_errors_;
  // Why the broker ended each exchange's subscription last, until a
  // message comes from it again: audited when it changes.
  std::map<ResourceKey, std::string> stop_reasons_;
  SamplerFigures figures_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace authsvc
