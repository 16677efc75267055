#include "authsvc/server/service_notifier.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <initializer_list>
#include <string>

namespace authsvc {
namespace {

// Sets the variables for one test case, and clears them after it.
struct Environment {
  explicit Environment(std::initializer_list<std::pair<std::string, std::string>> variables) {
    for (const auto& [name, value] : variables) {
      setenv(name.c_str(), value.c_str(), 1);
      names.push_back(name);
    }
  }
  ~Environment() {
    for (const std::string& name : names) unsetenv(name.c_str());
  }
  std::vector<std::string> names;
};

}  // namespace

TEST_CASE("without NOTIFY_SOCKET the notifier does nothing and never checks health") {
  unsetenv("NOTIFY_SOCKET");
  Environment env({{"WATCHDOG_USEC", "1000"}});
  bool checked = false;
  ServiceNotifier notifier("test", [&] {
    checked = true;
    return std::string();
  });
  CHECK_FALSE(notifier.enabled());
  CHECK(notifier.ping_interval().count() == 0);
  notifier.ready("ready");
  notifier.status("status");
  notifier.stopping();
  CHECK_FALSE(checked);
}

TEST_CASE("the watchdog pings at half the interval systemd asks for, if asked of this process") {
  Environment env({{"NOTIFY_SOCKET", "/nonexistent/notify"}, {"WATCHDOG_USEC", "30000000"}});
  CHECK(ServiceNotifier("test", {}).ping_interval() == std::chrono::seconds(15));
  {
    Environment mine({{"WATCHDOG_PID", std::to_string(getpid())}});
    CHECK(ServiceNotifier("test", {}).ping_interval() == std::chrono::seconds(15));
  }
  // Another process's watchdog (a variable inherited from a parent).
  Environment other({{"WATCHDOG_PID", std::to_string(getpid() + 1)}});
  CHECK(ServiceNotifier("test", {}).ping_interval().count() == 0);
}

}  // namespace authsvc
