#pragma once
// A listing of the broker's as the web last read it: its queues, or its
// exchanges with their bindings. Every queue or exchange page needs the
// whole list (a management API call, a large answer on a broker of
// thousands of queues), and the call runs on a listener thread: while the
// broker is slow or down, each page view would hold a thread for the API's
// whole timeout. So a listing is reused for `fresh_for`, a failure is
// remembered for `retry_after` (pages say "unavailable" at once meanwhile),
// and one fetch runs at a time: the others wait for it and share its result.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "authsvc/core/error.h"
#include "authsvc/guardian/broker_records.h"

namespace authsvc {

template <typename Listing>
class BrokerListingCache {
 public:
  using Clock = std::chrono::system_clock;
  // Ages are measured on `clock`, read when a fetch ends: a failure after
  // a long timeout is remembered from when it was known.
  BrokerListingCache(std::chrono::milliseconds fresh_for, std::chrono::milliseconds retry_after,
                     std::function<Clock::time_point()> clock)
      : fresh_for_(fresh_for), retry_after_(retry_after), clock_(std::move(clock)) {}

  // The listing, fetched with `fetch` unless a recent one (or a recent
  // failure, thrown again as an Error) is at hand.
  Listing get(const std::function<Listing()>& fetch) {
    // Held across the fetch: whoever waits gets this fetch's result, rather
    // than asking a slow broker once more.
    std::lock_guard lock(mutex_);
    const Clock::time_point now = clock_();
    if (fetched_at_ && now >= *fetched_at_) {
      if (failure_.empty() && now - *fetched_at_ < fresh_for_) return listing_;
      if (!failure_.empty() && now - *fetched_at_ < retry_after_) throw Error(failure_);
    }
    try {
      listing_ = fetch();
      failure_.clear();
    } catch (const Error& e) {
      listing_ = Listing{};
      failure_ = e.what();
      fetched_at_ = clock_();
      throw;
    }
    fetched_at_ = clock_();
    return listing_;
  }
  // The broker changed (a queue was deleted here): the next get fetches.
  void forget() {
    std::lock_guard lock(mutex_);
    fetched_at_.reset();
  }

 private:
  const std::chrono::milliseconds fresh_for_;
  const std::chrono::milliseconds retry_after_;
  const std::function<Clock::time_point()> clock_;
  std::mutex mutex_;
  std::optional<Clock::time_point> fetched_at_;
  Listing listing_{};
  std::string failure_;  // the last fetch's error; "" if it succeeded
};

using QueueListCache = BrokerListingCache<std::vector<QueueInfo>>;

// The exchanges with their publish rates, and every binding: what the
// exchange directory (guardian/exchange_directory.h) is made of.
struct ExchangeListing {
  std::vector<ExchangeInfo> exchanges;
  std::vector<BindingInfo> bindings;
};
using ExchangeListCache = BrokerListingCache<ExchangeListing>;

// The clients' open channels and consumers: what the report card
// (guardian/report_card.h) needs beside the queues and exchanges.
struct ClientActivity {
  std::vector<ChannelInfo> channels;
  std::vector<ConsumerInfo> consumers;
};
using ActivityCache = BrokerListingCache<ClientActivity>;

}  // namespace authsvc
