#pragma once
// The schema upgrade fixtures (tests/data/schema-vN.sql, which
// tests/data/make_schema_fixtures.py makes and whose story it tells): what
// they hold, and what a store migrated from each must still hold. Shared by
// the upgrade tests of both stores (sqlite_schema_upgrade_test.cc,
// pg_schema_upgrade_test.cc), which differ only in how a fixture gets into
// their database. Linked into the store's tests only.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "authsvc/store/sql_database.h"
#include "authsvc/store/sql_store.h"

namespace authsvc::testing {

// The fixtures' users, as make_schema_fixtures.py makes them: their tokens
// are test-only strings, recorded in the token ledger by each test (see
// record_fixture_tokens) so that the leak check makes sure they reach no
// log either.
struct FixtureUser {
  std::string name;
  std::string token;
  std::string email;
  std::vector<std::string> tags;
  std::vector<std::string> vhosts;
  bool active;
  // From schema version 3.
  std::optional<std::int64_t> queue_warn;
  std::optional<std::int64_t> queue_delete;
};
const std::vector<FixtureUser>& fixture_users();
void record_fixture_tokens();

// The numbers of SQLite's migrations compiled in (PostgreSQL's are the
// same: pg_schema_test.cc).
std::set<int> migration_numbers();
std::string fixture_path(int version);
// The versions there is a fixture of.
std::vector<int> fixture_versions();

// Each table's columns.
using TableColumns = std::map<std::string, std::vector<std::string>>;
TableColumns columns_of(SqlDatabase& db);
// The columns of a fixture that a later migration moved to another table,
// left out of `columns`: check_migrated_fixture() looks for them where
// they went (004 made users' email an owner, in user_owners, and
// token_hash and token_rotated_at the current credential, in credentials).
void forget_moved_columns(TableColumns& columns);
// Every row of the tables and columns `columns` names, as text
// ("table: 'a',1,X'..',NULL"), whichever database holds them.
std::multiset<std::string> rows_of(SqlDatabase& db, const TableColumns& columns);
// Fails the test case for each row of `before` that `after` lacks (a row
// lost, or one of its values changed), and if `before` is nearly empty.
void check_rows_kept(const std::multiset<std::string>& before,
                     const std::multiset<std::string>& after);

// Checks, through the store's own interface, that `store` holds what
// fixture `version` held, migrated to this build's schema: the users as
// the CLI shows them and as a snapshot lets them log in, the audit events
// not yet exported, the guardian's state, the web's; then that it takes
// changes, numbered after what it held. Changes `store`.
void check_migrated_fixture(SqlStore& store, int version);

}  // namespace authsvc::testing
