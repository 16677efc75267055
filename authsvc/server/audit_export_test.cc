// The store's events (CLI, web) in exactly one audit log when several
// servers share a PostgreSQL store: each server's watcher, with the audit
// export lead (lead.h) deciding which one writes them. On the fixture's
// PostgreSQL, a database of its own per test.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "authsvc/server/lead.h"
#include "authsvc/server/store_watcher.h"
#include "authsvc/store/pg_test_database.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

struct Node {
  Node(const StoreLocation& where, const std::string& path, const std::string& name)
      : store(open_store(where, Actor{"serve", ""})),
        audit(path, name),
        lead(open_lead_lock(where, LeadKind::audit_export), LeadKind::audit_export, "serve",
             "authsvc " + name, audit),
        watcher(*store, std::make_shared<const Rules>(Rules::pulse_default()), source, audit,
                std::chrono::milliseconds(10), [this] { return lead.check(); }) {}

  std::unique_ptr<Store> store;
  AuditLog audit;
  SnapshotSource source;
  Lead lead;
  StoreWatcher watcher;
};

// Every line of the file at `path`, parsed.
std::vector<nlohmann::json> lines_in(const std::string& path) {
  return testing::parse_json_lines<nlohmann::json>(testing::lines_of(testing::read_file(path)));
}

// How often each store event is in the two logs, by its number.
std::map<std::int64_t, int> copies(const std::vector<std::vector<nlohmann::json>>& logs) {
  std::map<std::int64_t, int> count;
  for (const auto& log : logs) {
    for (const nlohmann::json& line : log) {
      if (line.contains("event")) ++count[line["event"].get<std::int64_t>()];
    }
  }
  return count;
}

TEST_SUITE_BEGIN("threaded");

TEST_CASE("two servers on one PostgreSQL store: each event in one audit log, across a takeover") {
  testing::TempDir dir;
  testing::PgTestDatabase database;
  StoreLocation where = database.store_location();
  std::unique_ptr<Store> cli =
      open_store(where, Actor{"cli", "tester"}, OpenMode::create_if_missing);
  auto add = [&](const std::string& name) {
    testing::record_issued_token(cli->add_user(NewUser{name, {"o@example.org"}, {}, {"/"}, ""}));
  };
  add("u0");
  std::vector<std::string> paths = {dir.file("a.log"), dir.file("b.log")};
  auto a = std::make_unique<Node>(where, paths[0], "node-a");
  auto b = std::make_unique<Node>(where, paths[1], "node-b");

  auto logs = [&] {
    if (a) a->audit.flush();
    if (b) b->audit.flush();
    return std::vector<std::vector<nlohmann::json>>{lines_in(paths[0]), lines_in(paths[1])};
  };
  // Both servers poll, in turn, until the logs hold `events` store events,
  // each once.
  auto each_once = [&](std::size_t events) {
    return testing::eventually([&] {
      if (a) a->watcher.poll_once();
      if (b) b->watcher.poll_once();
      std::map<std::int64_t, int> count = copies(logs());
      if (count.size() != events) return false;
      for (const auto& [id, n] : count) {
        if (n != 1) return false;
      }
      return true;
    });
  };
  auto said = [&](const std::vector<nlohmann::json>& log, const char* action) {
    return std::count_if(log.begin(), log.end(),
                         [&](const nlohmann::json& l) { return l["action"] == action; });
  };

  for (const char* name : {"u1", "u2", "u3"}) add(name);
  REQUIRE(each_once(4));
  // The first to find events exports them: a, whose watcher started
  // first. b stands by.
  CHECK(a->lead.held());
  CHECK_FALSE(b->lead.held());
  CHECK(copies({logs()[0]}).size() == 4);

  // a's lock connection dies (its node crashed, or lost the database):
  // b takes over from the store's mark, and nothing is written twice.
  std::int64_t ended = *testing::connect_pg_maintenance()->query_int64(
      "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l "
      "JOIN pg_database d ON d.oid = l.database "
      "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = ? "
      "AND ((l.classid::bigint << 32) | l.objid::bigint) = ?::bigint",
      {database.name(), kAuditExportLeadKey});
  REQUIRE(ended == 1);
  for (const char* name : {"u4", "u5"}) add(name);
  REQUIRE(each_once(6));
  CHECK(b->lead.held());
  CHECK(b->lead.times_taken() == 1);
  CHECK(copies({logs()[1]}).size() == 2);
  CHECK(said(logs()[0], "lead taken") == 1);
  CHECK(said(logs()[0], "lead lost") == 1);
  CHECK(said(logs()[1], "lead taken") == 1);

  // b's node goes away for good (its connections close): a takes the lead
  // back and goes on from the mark.
  b.reset();
  for (const char* name : {"u6", "u7"}) add(name);
  REQUIRE(each_once(8));
  CHECK(a->lead.held());
  CHECK(a->lead.times_taken() == 2);
  CHECK(copies({logs()[0]}).size() == 6);
}

TEST_SUITE_END();

}  // namespace
}  // namespace authsvc
