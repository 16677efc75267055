#pragma once
// The store in one SQLite file, shared by `authsvc serve`, the guardian and
// the CLI (store.h has the contract; sql_store.h the logic, which SQLite
// and PostgreSQL share).
//
// The schema lives only in schema/*.sql; PRAGMA user_version records how far
// it was applied. WAL mode lets the server read while the CLI writes;
// data_version() is SQLite's PRAGMA data_version. The file, its WAL and its
// shared-memory index are created 0600 under the process's umask of 077.

#include <string>

#include "authsvc/store/sql_store.h"

namespace SQLite {
class Database;
}

namespace authsvc {

class SqliteStore : public SqlStore {
 public:
  // Opens the database at `path` and applies any pending migration.
  SqliteStore(const std::string& path, Actor actor, OpenMode mode = OpenMode::existing);

  // back_up_store and restore_store (store.h), in sqlite_backup.cc.
  BackupContents back_up(const std::string& target, bool replace);
  static BackupContents restore(const std::string& location, const std::string& backup,
                                const Actor& actor);

  // Applies SQLite's migrations to `db` (a backup's copy).
  static void migrate(SQLite::Database& db);
  static int latest_schema_version();

 private:
  // Throws the StoreError that says how to create a missing database.
  static void require_exists(const std::string& path);
  SQLite::Database& sqlite();

  // How long a connection waits for another's write lock (SQLite's busy
  // timeout), the store's and a restore's alike.
  static constexpr int kBusyTimeoutMs = 5000;
};

}  // namespace authsvc
