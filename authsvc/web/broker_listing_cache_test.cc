#include "authsvc/web/broker_listing_cache.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "authsvc/core/error.h"

namespace authsvc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Broker {
  int calls = 0;
  bool up = true;
  std::vector<QueueInfo> queues{
      QueueInfo{"/", "queue/alice/a", 1, 0, true, false, false, {}, {}, {}, {}, {}, {}, {}}};
  std::function<std::vector<QueueInfo>()> fetch() {
    return [this] {
      ++calls;
      if (!up) throw Error("management API: connection refused");
      return queues;
    };
  }
};

}  // namespace

TEST_CASE("queue list cache: a list is reused while fresh, fetched again after, and on forget") {
  QueueListCache::Clock::time_point now{seconds(1000)};
  QueueListCache cache(seconds(5), seconds(5), [&] { return now; });
  Broker broker;
  CHECK(cache.get(broker.fetch()).size() == 1);
  broker.queues.push_back(
      QueueInfo{"/", "queue/alice/b", 0, 0, true, false, false, {}, {}, {}, {}, {}, {}, {}});
  now += seconds(4);
  CHECK(cache.get(broker.fetch()).size() == 1);
  CHECK(broker.calls == 1);
  now += seconds(1);
  CHECK(cache.get(broker.fetch()).size() == 2);
  CHECK(broker.calls == 2);
  cache.forget();
  CHECK(cache.get(broker.fetch()).size() == 2);
  CHECK(broker.calls == 3);
}

TEST_CASE("queue list cache: a failure is remembered from when it was known, then retried") {
  QueueListCache::Clock::time_point now{seconds(1000)};
  QueueListCache cache(seconds(5), seconds(5), [&] { return now; });
  Broker broker;
  broker.up = false;
  // The fetch takes as long as a timeout: the failure counts from its end.
  auto slow_failure = [&] {
    now += seconds(10);
    return broker.fetch()();
  };
  CHECK_THROWS_WITH_AS(cache.get(slow_failure), "management API: connection refused", Error);
  now += seconds(4);
  CHECK_THROWS_WITH_AS(cache.get(broker.fetch()), "management API: connection refused", Error);
  CHECK(broker.calls == 1);
  now += seconds(1);
  broker.up = true;
  CHECK(cache.get(broker.fetch()).size() == 1);
  CHECK(broker.calls == 2);
  // A clock that went back is no reason to trust what is held.
  now -= seconds(60);
  CHECK(cache.get(broker.fetch()).size() == 1);
  CHECK(broker.calls == 3);
}

TEST_CASE("queue list cache: requests at once share one fetch") {
  std::atomic<int> calls{0};
  std::atomic<bool> release{false};
  QueueListCache cache(seconds(5), seconds(5), [] { return QueueListCache::Clock::now(); });
  auto fetch = [&] {
    ++calls;
    while (!release) std::this_thread::sleep_for(milliseconds(1));
    return std::vector<QueueInfo>{
        QueueInfo{"/", "queue/a/q", 1, 0, true, false, false, {}, {}, {}, {}, {}, {}, {}}};
  };
  std::vector<std::thread> threads;
  std::atomic<int> got{0};
  std::atomic<int> started{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      ++started;
      if (cache.get(fetch).size() == 1) ++got;
    });
  }
  // The first fetch under way and every thread at the cache, with time to
  // start fetches of their own if they could, before it may finish.
  while (calls == 0 || started < 4) std::this_thread::sleep_for(milliseconds(1));
  std::this_thread::sleep_for(milliseconds(200));
  release = true;
  for (std::thread& t : threads) t.join();
  CHECK(got == 4);
  CHECK(calls == 1);
}

}  // namespace authsvc
