#pragma once
// What a SQLite database holds, as text, for the tests that check that a
// refused change left a database exactly as it was (the backup tests).
// Header-only: the test executables that use it link SQLiteCpp already, and
// the test support links the core alone.

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>

namespace authsvc::testing {

// The schema version and every row of every table, in table order, each
// value as SQLite quotes it; read through a connection of its own, closed
// before it returns.
inline std::string database_contents(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  std::string text = "user_version " + db.execAndGet("PRAGMA user_version").getString() + "\n";
  SQLite::Statement tables(db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
  while (tables.executeStep()) {
    std::string table = tables.getColumn(0).getString();
    std::string values;
    SQLite::Statement columns(db, "SELECT name FROM pragma_table_info(?)");
    columns.bind(1, table);
    while (columns.executeStep()) {
      values += (values.empty() ? "" : " || ' ' || ") +
                ("quote(\"" + columns.getColumn(0).getString() + "\")");
    }
    SQLite::Statement rows(db, "SELECT " + values + " FROM \"" + table + "\"");
    while (rows.executeStep()) text += table + ": " + rows.getColumn(0).getString() + "\n";
  }
  return text;
}

}  // namespace authsvc::testing
