// The lead lock on PostgreSQL (lead_lock.h): what only a server can show,
// a holder whose connection dies, and candidates racing for it. That two
// locks on one store never both hold, on either store, is the contract's
// (store_contract_test.cc).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <thread>
#include <vector>

#include "authsvc/store/lead_lock.h"
#include "authsvc/store/pg_test_database.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

// As an operator gives it: a URI, the password beside it.
// Ends the server session holding `key` in `database`, as a node that
// died or lost its network leaves it. How many it ended.
std::int64_t end_holder(const testing::PgTestDatabase& database, std::int64_t key) {
  return *testing::connect_pg_maintenance()->query_int64(
      "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l "
      "JOIN pg_database d ON d.oid = l.database "
      "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = ? "
      "AND ((l.classid::bigint << 32) | l.objid::bigint) = ?::bigint",
      {database.name(), key});
}

TEST_CASE("lead lock: when the holder's connection dies, another candidate takes the lead") {
  testing::PgTestDatabase database;
  std::unique_ptr<LeadLock> a = open_lead_lock(database.store_location(), LeadKind::guardian);
  std::unique_ptr<LeadLock> b = open_lead_lock(database.store_location(), LeadKind::guardian);
  REQUIRE(a->hold());
  REQUIRE_FALSE(b->hold());
  REQUIRE(end_holder(database, kGuardianLeadKey) == 1);
  // The server drops the lock as the session ends, a moment later.
  CHECK(testing::eventually([&] { return b->hold(); }));
  // The old holder learns it at its next ask: its connection is gone, and
  // connecting again finds the lead taken.
  CHECK_FALSE(a->hold());
  CHECK_FALSE(a->last_error().empty());
  CHECK_FALSE(a->hold());
  CHECK(a->last_error().empty());
  CHECK(b->hold());
  // And the other lead, on the same server, was never part of it.
  std::unique_ptr<LeadLock> exporter =
      open_lead_lock(database.store_location(), LeadKind::audit_export);
  CHECK(exporter->hold());
}

TEST_CASE("lead lock: a candidate alone takes the lead back after its own connection died") {
  testing::PgTestDatabase database;
  std::unique_ptr<LeadLock> a = open_lead_lock(database.store_location(), LeadKind::audit_export);
  REQUIRE(a->hold());
  REQUIRE(end_holder(database, kAuditExportLeadKey) == 1);
  CHECK_FALSE(a->hold());  // the loss, noticed
  CHECK(testing::eventually([&] { return a->hold(); }));
}

TEST_CASE("lead lock: a server that cannot be reached means no lead, and an error") {
  StoreLocation nowhere("postgresql://authsvc@127.0.0.1:1/authsvc");
  std::unique_ptr<LeadLock> lock = open_lead_lock(nowhere, LeadKind::guardian);
  CHECK_FALSE(lock->hold());
  CHECK_FALSE(lock->last_error().empty());
}

TEST_CASE("lead lock: candidates racing for the lead never hold it at once") {
  testing::PgTestDatabase database;
  constexpr int kCandidates = 3;
  constexpr int kRounds = 40;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> terms{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kCandidates; ++c) {
    threads.emplace_back([&] {
      std::unique_ptr<LeadLock> lock =
          open_lead_lock(database.store_location(), LeadKind::guardian);
      for (int round = 0; round < kRounds;) {
        if (!lock->hold()) {
          std::this_thread::yield();
          continue;
        }
        // Acting as the lead: no other candidate may be here now.
        if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (!lock->hold()) overlaps.fetch_add(1);  // nobody took it from under us
        inside.fetch_sub(1);
        lock->release();
        terms.fetch_add(1);
        ++round;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(overlaps.load() == 0);
  CHECK(terms.load() == kCandidates * kRounds);
}

}  // namespace
}  // namespace authsvc
