#include "authsvc/server/service_notifier.h"

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>

#include "authsvc/core/text.h"

namespace authsvc {

ServiceNotifier::ServiceNotifier(std::string program, HealthCheck healthy)
    : program_(std::move(program)), healthy_(std::move(healthy)) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket && *socket;
  std::uint64_t usec = 0;
  // 0: keep the variables, for a child the process may start (none does
  // now) to see them the same way. It checks WATCHDOG_PID against our pid.
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    ping_interval_ = std::chrono::microseconds(usec / 2);
  }
}

ServiceNotifier::~ServiceNotifier() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void ServiceNotifier::notify(const std::string& state) {
  if (!enabled_) return;
  // Best effort: systemd gone away is no reason to stop serving.
  sd_notify(0, state.c_str());
}

void ServiceNotifier::ready(const std::string& status) {
  notify("READY=1\nSTATUS=" + printable(status));
  if (ping_interval_.count() > 0 && !watchdog_.joinable()) {
    watchdog_ = std::thread([this] { watch(); });
  }
}

void ServiceNotifier::status(const std::string& status) { notify("STATUS=" + printable(status)); }

void ServiceNotifier::stopping(const std::string& status) {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  notify("STOPPING=1\nSTATUS=" + printable(status));
}

void ServiceNotifier::watch() {
  std::string last_problem;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    std::string problem = healthy_();
    if (problem.empty()) {
      if (!last_problem.empty()) {
        fmt::print(stderr, "{}: healthy again; systemd's watchdog is fed again\n", program_);
        notify("STATUS=healthy again");
      }
      notify("WATCHDOG=1");
    } else if (problem != last_problem) {
      // Once per problem, not at every ping it misses.
      fmt::print(stderr, "{}: not feeding systemd's watchdog: {}\n", program_, problem);
      notify("STATUS=unhealthy: " + printable(problem));
    }
    last_problem = std::move(problem);
    lock.lock();
    wake_.wait_for(lock, ping_interval_, [&] { return stopping_; });
  }
}

}  // namespace authsvc
