// Schema upgrades on PostgreSQL: a store that PostgreSQL's migrations made
// at each older version, holding what SQLite's upgrade fixture of that
// version holds (tests/data/schema-vN.sql, copied table by table), is
// opened by this build, which migrates it; every row is kept, and the
// store holds and does what the SQLite store migrated from the same
// fixture does (schema_fixtures.h). So each of PostgreSQL's migrations is
// tested on the data it meets, not only on an empty database, and the two
// stores' migrations are held to one story.
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <span>
#include <vector>

#include "authsvc/core/embedded_file.h"
#include "authsvc/store/pg_store.h"
#include "authsvc/store/pg_test_database.h"
#include "authsvc/store/schema_fixtures.h"
#include "authsvc/store/sqlite_database.h"
#include "authsvc/store/store_copy.h"
#include "tests/test_support.h"

namespace authsvc::testing {
namespace {

// PostgreSQL's migrations numbered up to `version`.
std::vector<EmbeddedFile> pg_migrations_up_to(int version) {
  std::vector<EmbeddedFile> migrations;
  for (std::size_t i = 0; i < embedded_pg_migrations_count; ++i) {
    if (std::stoi(std::string(embedded_pg_migrations[i].name)) <= version) {
      migrations.push_back(embedded_pg_migrations[i]);
    }
  }
  return migrations;
}

}  // namespace

TEST_CASE("a postgresql store of each older schema version is migrated, with every row") {
  record_fixture_tokens();
  int latest = *migration_numbers().rbegin();
  std::vector<int> versions = fixture_versions();
  REQUIRE_FALSE(versions.empty());
  for (int version : versions) {
    CAPTURE(version);
    SQLite::Database fixture(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    fixture.exec(read_file(fixture_path(version)));
    SqliteDatabase before(fixture);

    // The store as PostgreSQL's migrations made it at `version`, with the
    // fixture's rows.
    PgTestDatabase database;
    {
      std::unique_ptr<PgDatabase> db = database.connect();
      std::vector<EmbeddedFile> migrations = pg_migrations_up_to(version);
      SqlStore::migrate(*db, migrations);
      REQUIRE(db->schema_version() == version);
      SqlTransaction writing(*db, SqlTransactionKind::write);
      copy_tables(before, *db);
      writing.commit();
    }

    PgStore store(database.store_location(), Actor{"cli", "upgrade-test"}, OpenMode::existing);
    CHECK(store.schema_version() == latest);

    TableColumns old_columns = columns_of(before);
    forget_moved_columns(old_columns);
    check_rows_kept(rows_of(before, old_columns), rows_of(store.db(), old_columns));

    check_migrated_fixture(store, version);
  }
}

}  // namespace authsvc::testing
