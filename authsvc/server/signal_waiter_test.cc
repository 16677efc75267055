#include "authsvc/server/signal_waiter.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/test_support.h"

namespace authsvc {
namespace {

// Whether `signo` is blocked in every thread of this process, from
// /proc/self/task/*/status. Signals are sent to the whole process below,
// and the kernel gives such a signal to any thread that does not block it:
// a thread that did not would die of it, and the test runner with it.
bool blocked_everywhere(int signo) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream status(task.path() / "status");
    std::string line;
    bool blocked = false;
    while (std::getline(status, line)) {
      if (line.rfind("SigBlk:", 0) != 0) continue;
      unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
      blocked = (mask >> (signo - 1)) & 1;
    }
    if (!blocked) return false;
  }
  return true;
}

bool blocked_here(int signo) {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, signo) == 1;
}

using testing::eventually;

}  // namespace

TEST_CASE("SignalWaiter: SIGHUP calls on_reopen, SIGINT and SIGTERM on_stop, each time") {
  std::atomic<int> stops{0};
  std::atomic<int> reopens{0};
  SignalWaiter waiter;
  waiter.start([&] { ++stops; }, [&] { ++reopens; });
  for (int signo : {SIGHUP, SIGINT, SIGTERM}) REQUIRE(blocked_everywhere(signo));

  REQUIRE(kill(getpid(), SIGHUP) == 0);
  CHECK(eventually([&] { return reopens == 1; }));
  REQUIRE(kill(getpid(), SIGHUP) == 0);
  CHECK(eventually([&] { return reopens == 2; }));
  REQUIRE(kill(getpid(), SIGTERM) == 0);
  CHECK(eventually([&] { return stops == 1; }));
  REQUIRE(kill(getpid(), SIGINT) == 0);
  CHECK(eventually([&] { return stops == 2; }));
  waiter.stop();
  CHECK(reopens == 2);
}

TEST_CASE("SignalWaiter: a signal that comes before start() is handled once started") {
  std::atomic<int> stops{0};
  SignalWaiter waiter;
  REQUIRE(blocked_everywhere(SIGTERM));
  REQUIRE(kill(getpid(), SIGTERM) == 0);
  sigset_t pending;
  sigpending(&pending);
  CHECK(sigismember(&pending, SIGTERM) == 1);  // it waits, nobody died of it
  waiter.start([&] { ++stops; }, [] {});
  CHECK(eventually([&] { return stops == 1; }));
}

TEST_CASE("SignalWaiter: ends without a signal, and gives the signals back") {
  for (int signo : {SIGHUP, SIGINT, SIGTERM}) REQUIRE_FALSE(blocked_here(signo));
  {
    // Start-up failed before the waiting began.
    SignalWaiter waiter;
    for (int signo : {SIGHUP, SIGINT, SIGTERM}) CHECK(blocked_here(signo));
  }
  for (int signo : {SIGHUP, SIGINT, SIGTERM}) CHECK_FALSE(blocked_here(signo));
  {
    std::atomic<int> calls{0};
    SignalWaiter waiter;
    waiter.start([&] { ++calls; }, [&] { ++calls; });
    auto started = std::chrono::steady_clock::now();
    waiter.stop();
    waiter.stop();  // idempotent
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
    CHECK(calls == 0);
  }
  for (int signo : {SIGHUP, SIGINT, SIGTERM}) CHECK_FALSE(blocked_here(signo));
}

}  // namespace authsvc
