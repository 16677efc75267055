#include "authsvc/core/snapshot_source.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "authsvc/core/decision.h"

namespace authsvc {
namespace {

// A snapshot whose every user is named after `generation`, so a reader can
// tell whether what it sees is whole.
std::shared_ptr<const Snapshot> generation_snapshot(int generation) {
  std::vector<UserRecord> users(50);
  for (std::size_t i = 0; i < users.size(); ++i) {
    users[i].name = "user" + std::to_string(i);
    users[i].credential = token_credential("token-" + std::to_string(generation));
    users[i].active = true;
    users[i].vhosts = {"/"};
  }
  static auto rules = std::make_shared<const Rules>(Rules::pulse_default());
  return std::make_shared<const Snapshot>(std::move(users), rules);
}

}  // namespace

TEST_CASE("snapshot swap under load: readers always see one whole snapshot" *
          doctest::test_suite("threaded")) {
  SnapshotSource source(generation_snapshot(0));
  std::atomic<bool> done{false};
  std::atomic<int> published{0};
  std::atomic<long> inconsistent{0};
  std::atomic<long> decisions{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      AuthRequest login;
      login.endpoint = Endpoint::user;
      while (!done.load()) {
        // replace(g) happens before published = g, so the snapshot taken
        // between these two loads is of a generation in [before, after + 1].
        int before = published.load();
        const Snapshot* snapshot = source.current_for_this_thread();
        int after = published.load();
        // Every user of one snapshot has the same generation's token: find
        // which, then check the last user agrees.
        int seen = -1;
        for (int g = before; g <= after + 1 && seen < 0; ++g) {
          login.username = "user0";
          login.password = "token-" + std::to_string(g);
          if (decide(login, *snapshot, std::chrono::system_clock::now()).allow) seen = g;
        }
        login.username = "user49";
        login.password = "token-" + std::to_string(seen);
        if (seen < 0 || !decide(login, *snapshot, std::chrono::system_clock::now()).allow)
          ++inconsistent;
        ++decisions;
      }
    });
  }
  for (int g = 1; g <= 300; ++g) {
    source.replace(generation_snapshot(g));
    published.store(g);
  }
  done.store(true);
  for (std::thread& t : readers) t.join();
  CHECK(inconsistent.load() == 0);
  CHECK(decisions.load() > 0);
  CHECK(source.current()->find_user("user0").has_value());
}

}  // namespace authsvc
