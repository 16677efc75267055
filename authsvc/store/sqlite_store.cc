#include "authsvc/store/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include "authsvc/core/embedded_file.h"
#include "authsvc/core/text.h"
#include "authsvc/store/sqlite_database.h"

namespace authsvc {
namespace {

std::span<const EmbeddedFile> sqlite_migrations() {
  return {embedded_migrations, embedded_migrations_count};
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path, Actor actor, OpenMode mode)
    : SqlStore(
          path,
          [path](OpenMode open_mode) -> std::unique_ptr<SqlDatabase> {
            if (open_mode == OpenMode::existing) require_exists(path);
            // No mutex of SQLite's own: a SqlDatabase is used by one thread
            // at a time (sql_database.h), and the lock taken for each call
            // was 7 % of loading a million users.
            int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX;
            if (open_mode == OpenMode::create_if_missing) flags |= SQLite::OPEN_CREATE;
            auto db = std::make_unique<SqliteDatabase>(path, flags, kBusyTimeoutMs);
            db->exec_script("PRAGMA journal_mode = WAL");
            db->exec_script("PRAGMA foreign_keys = ON");
            db->exec_script("PRAGMA synchronous = NORMAL");
            return db;
          },
          sqlite_migrations(), std::move(actor), mode) {}

void SqliteStore::require_exists(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    throw StoreError(
        fmt::format("database '{}' does not exist (create it with: authsvc init --db {})",
                    printable(path), printable(path)));
  }
}

SQLite::Database& SqliteStore::sqlite() { return static_cast<SqliteDatabase&>(db()).native(); }

void SqliteStore::migrate(SQLite::Database& db) {
  SqliteDatabase wrapped(db);
  SqlStore::migrate(wrapped, sqlite_migrations());
}

int SqliteStore::latest_schema_version() {
  return SqlStore::latest_schema_version(sqlite_migrations());
}

}  // namespace authsvc
