// The watcher on PostgreSQL (the server of the CTest fixture `postgres`, a
// database of its own per test): woken by the change notices, interrupted
// by stop(), backing off while the database is away, and what the metrics
// and /readyz say meanwhile. retry_delay's schedule too.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <future>
#include <memory>
#include <optional>

#include "authsvc/core/metrics.h"
#include "authsvc/server/serve_metrics.h"
#include "authsvc/server/store_watcher.h"
#include "authsvc/store/pg_store.h"
#include "authsvc/store/pg_test_database.h"
#include "authsvc/store/sqlite_store.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using std::chrono::milliseconds;

std::shared_ptr<const Rules> rules() {
  return std::make_shared<const Rules>(Rules::pulse_default());
}

double sample(const std::string& exposition, const std::string& series) {
  std::size_t at = exposition.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(exposition.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("retry_delay: 250 ms, doubling, at most 5 s") {
  CHECK(retry_delay(1) == milliseconds(250));
  CHECK(retry_delay(2) == milliseconds(500));
  CHECK(retry_delay(3) == milliseconds(1000));
  CHECK(retry_delay(4) == milliseconds(2000));
  CHECK(retry_delay(5) == milliseconds(4000));
  CHECK(retry_delay(6) == milliseconds(5000));
  CHECK(retry_delay(7) == milliseconds(5000));
  CHECK(retry_delay(1000) == milliseconds(5000));  // no overflow after many
  CHECK(retry_delay(0) == milliseconds(250));
}

TEST_SUITE_BEGIN("threaded");

// The interval is an hour: only the notice can have woken the watcher.
TEST_CASE("on PostgreSQL, the watcher applies a CLI change as its notice arrives") {
  testing::TempDir dir;
  testing::PgTestDatabase database;
  StoreLocation location = database.store_location();
  PgStore server_store(location, Actor{"serve", ""}, OpenMode::create_if_missing);
  PgStore cli(location, Actor{"cli", "tester"});
  testing::record_issued_token(
      cli.add_user(NewUser{"alice", {"owner@example.org"}, {}, {"/"}, ""}));
  AuditLog audit(dir.file("audit.log"), "test-node");
  SnapshotSource source;
  StoreWatcher watcher(server_store, rules(), source, audit, std::chrono::hours(1));
  REQUIRE(source.current()->find_user("alice"));
  watcher.start();
  for (bool active : {false, true, false}) {
    cli.set_active("alice", active);
    CHECK(
        testing::eventually([&] { return source.current()->find_user("alice")->active == active; },
                            std::chrono::seconds(30)));
  }
  CHECK(watcher.figures().partial_reloads == 3);
  watcher.stop();
  audit.flush();
  std::string log = testing::read_file(dir.file("audit.log"));
  CHECK(log.find("\"action\":\"user disable\"") != std::string::npos);
}

TEST_CASE("stop() ends the watcher's wait for a notice at once, on PostgreSQL and SQLite") {
  testing::TempDir dir;
  testing::PgTestDatabase database;
  PgStore pg(database.store_location(), Actor{"serve", ""}, OpenMode::create_if_missing);
  SqliteStore sqlite(dir.file("a.db"), Actor{"serve", ""}, OpenMode::create_if_missing);
  AuditLog audit(dir.file("audit.log"), "test-node");
  for (Store* store : {static_cast<Store*>(&pg), static_cast<Store*>(&sqlite)}) {
    SnapshotSource source;
    StoreWatcher watcher(*store, rules(), source, audit, std::chrono::hours(1));
    watcher.start();
    // Once the thread has polled and waits (an hour, were it not stopped).
    std::future<void> stopped = std::async(std::launch::async, [&] { watcher.stop(); });
    CHECK(stopped.wait_for(testing::scaled(std::chrono::seconds(30))) == std::future_status::ready);
    stopped.wait();
  }
}

TEST_CASE("on PostgreSQL, a lost connection is noticed, counted, and reopened at the next poll") {
  testing::TempDir dir;
  testing::PgTestDatabase database;
  StoreLocation location = database.store_location();
  PgStore server_store(location, Actor{"serve", ""}, OpenMode::create_if_missing);
  PgStore cli(location, Actor{"cli", "tester"});
  testing::record_issued_token(
      cli.add_user(NewUser{"alice", {"owner@example.org"}, {}, {"/"}, ""}));
  AuditLog audit(dir.file("audit.log"), "test-node");
  SnapshotSource source;
  StoreWatcher watcher(server_store, rules(), source, audit, milliseconds(10));
  std::uint64_t full = watcher.figures().full_reloads;
  // Every connection to the database but this one's.
  testing::connect_pg_maintenance()->query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = ? AND pid <> pg_backend_pid()",
      {database.name()}, [](const SqlRow&) {});
  CHECK(testing::eventually(
      [&] {
        watcher.poll_once();
        return !watcher.figures().reachable;
      },
      std::chrono::seconds(10)));
  CHECK(watcher.figures().reconnects == 0);
  // The change made meanwhile (its notice went to no one) is caught up.
  cli.reopen();
  cli.set_active("alice", false);
  watcher.poll_once();
  StoreWatcher::Figures f = watcher.figures();
  CHECK(f.reachable);
  CHECK(f.reconnects == 1);
  CHECK(f.full_reloads == full + 1);
  CHECK_FALSE(source.current()->find_user("alice")->active);
}

TEST_CASE("while PostgreSQL cannot be reached, the metrics and readyz say so") {
  testing::TempDir dir;
  auto database = std::make_unique<testing::PgTestDatabase>();
  StoreLocation location = database->store_location();
  std::optional<PgStore> server_store;
  server_store.emplace(location, Actor{"serve", ""}, OpenMode::create_if_missing);
  {
    PgStore cli(location, Actor{"cli", "tester"});
    testing::record_issued_token(
        cli.add_user(NewUser{"alice", {"owner@example.org"}, {}, {"/"}, ""}));
  }
  AuditLog audit(dir.file("audit.log"), "test-node");
  SnapshotSource source;
  StoreWatcher watcher(*server_store, rules(), source, audit, milliseconds(10));
  MetricsRegistry metrics;
  register_snapshot_metrics(metrics, source, watcher);
  std::string m = metrics.exposition();
  CHECK(sample(m, "authsvc_store_reachable") == 1);
  CHECK(sample(m, "authsvc_store_unreachable_seconds") == 0);
  CHECK(sample(m, "authsvc_store_reconnects_total") == 0);

  // The database goes (dropped, its connections ended): the watcher's
  // connection is lost, and reopening it fails.
  std::string name = database->name();
  database.reset();
  // The server's last words may come before the connection's end: polled.
  CHECK(testing::eventually(
      [&] {
        watcher.poll_once();
        return !watcher.figures().reachable;
      },
      std::chrono::seconds(10)));
  watcher.poll_once();  // reopens, and fails
  StoreWatcher::Figures f = watcher.figures();
  CHECK_FALSE(f.reachable);
  CHECK(f.errors >= 2);
  CHECK(f.error.find(name) != std::string::npos);  // why: no such database
  m = metrics.exposition();
  CHECK(sample(m, "authsvc_store_reachable") == 0);
  CHECK(sample(m, "authsvc_store_unreachable_seconds") >= 0);
  CHECK(sample(m, "authsvc_store_errors_total") == static_cast<double>(f.errors));
  CHECK(sample(m, "authsvc_store_reconnects_total") == 0);
  // Still answering from the snapshot.
  REQUIRE(source.current()->find_user("alice"));
  // Ready while the snapshot is younger than the limit; then not, naming
  // the outage.
  CHECK(snapshot_problem(source, watcher, std::chrono::hours(1)).empty());
  std::string problem = snapshot_problem(source, watcher, std::chrono::seconds(0));
  CHECK(problem.starts_with("the database cannot be read since "));
  CHECK(problem.find("; answering from the snapshot read at 20") != std::string::npos);
  CHECK(problem.find("s ago, limit 0 s)") != std::string::npos);
}

TEST_SUITE_END();

}  // namespace authsvc
