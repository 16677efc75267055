// Schema upgrades: a database made by each older schema version is opened
// by this build, which migrates it; every row is kept, and every user
// still logs in. The databases are tests/data/schema-vN.sql, SQL text made
// by tests/data/make_schema_fixtures.py (which tells the story they hold:
// the users, grants, tags, audit events and guardian state that
// schema_fixtures.h checks). PostgreSQL's migrations are tested with the
// same fixtures by pg_schema_upgrade_test.cc.
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <filesystem>

#include "authsvc/store/schema_fixtures.h"
#include "authsvc/store/sqlite_database.h"
#include "authsvc/store/sqlite_store.h"
#include "tests/test_support.h"

namespace authsvc::testing {

TEST_CASE("every schema version before the latest has an upgrade fixture") {
  // A new migration N needs the fixture of version N-1, a database as it
  // was before N: run tests/data/make_schema_fixtures.py (schema/README.md).
  std::set<int> numbers = migration_numbers();
  REQUIRE_FALSE(numbers.empty());
  int latest = *numbers.rbegin();
  for (int version : numbers) {
    if (version == latest) continue;
    CAPTURE(version);
    INFO("schema/ has migrations up to " << latest << " but no tests/data/schema-v" << version
                                         << ".sql: run tests/data/make_schema_fixtures.py");
    CHECK(std::filesystem::exists(fixture_path(version)));
  }
  CHECK(fixture_versions().size() >= numbers.size() - 1);
}

TEST_CASE("a database of each older schema version is migrated, with every row, and still works") {
  record_fixture_tokens();
  int latest = *migration_numbers().rbegin();
  std::vector<int> versions = fixture_versions();
  REQUIRE_FALSE(versions.empty());
  for (int version : versions) {
    CAPTURE(version);
    testing::TempDir dir;
    std::string path = dir.file("old.db");
    std::string sql = testing::read_file(fixture_path(version));
    // The fixture as it is, in memory, to compare with; and in a file, for
    // this build to open.
    SQLite::Database before(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    before.exec(sql);
    {
      SQLite::Database file(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      file.exec(sql);
      REQUIRE(file.execAndGet("PRAGMA user_version").getInt() == version);
    }

    SqliteStore store(path, Actor{"cli", "upgrade-test"}, OpenMode::existing);
    CHECK(store.schema_version() == latest);

    // Every row of every table, each with the values it had.
    SqliteDatabase before_db(before);
    TableColumns old_columns = columns_of(before_db);
    forget_moved_columns(old_columns);
    SQLite::Database after(path, SQLite::OPEN_READONLY);
    SqliteDatabase after_db(after);
    check_rows_kept(rows_of(before_db, old_columns), rows_of(after_db, old_columns));
    SQLite::Statement dangling(after, "PRAGMA foreign_key_check");
    CHECK_FALSE(dangling.executeStep());
    CHECK(after.execAndGet("PRAGMA integrity_check").getString() == "ok");

    check_migrated_fixture(store, version);
  }
}

}  // namespace authsvc::testing
