#pragma once
// What a long-running command (serve, guardian, web) tells systemd through
// sd_notify(3), for units of Type=notify (contrib/systemd): READY=1 once it
// answers, STATUS= lines an operator sees in `systemctl status`, STOPPING=1
// when it shuts down, and, when the unit sets WatchdogSec=, WATCHDOG=1 at
// half the interval, sent only while the process's health check passes, so
// that systemd restarts a process that is alive but stuck.
//
// Without $NOTIFY_SOCKET (not started by systemd) every call does nothing
// and no thread starts.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace authsvc {

// "" when the process is healthy, else why not (one line). Called on the
// watchdog's thread; it must not block for long (bound its own waits).
using HealthCheck = std::function<std::string()>;

class ServiceNotifier {
 public:
  // `program` prefixes the lines on stderr ("authsvc", "authsvc web").
  ServiceNotifier(std::string program, HealthCheck healthy);
  ~ServiceNotifier();  // ends the watchdog's thread, if any
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  // READY=1 with `status`; then, if systemd asks for a watchdog
  // (sd_watchdog_enabled), starts the thread that pings it. Call it once.
  void ready(const std::string& status);
  void status(const std::string& status);
  // STOPPING=1; the watchdog pings no more (systemd does not expect them
  // once it knows the process is stopping).
  void stopping(const std::string& status = "stopping");

  // Whether systemd listens: $NOTIFY_SOCKET was set at construction.
  bool enabled() const { return enabled_; }
  // Half the watchdog interval systemd asked for; zero without one.
  std::chrono::microseconds ping_interval() const { return ping_interval_; }

 private:
  void watch();
  void notify(const std::string& state);

  std::string program_;
  HealthCheck healthy_;
  bool enabled_ = false;
  std::chrono::microseconds ping_interval_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread watchdog_;
};

}  // namespace authsvc
