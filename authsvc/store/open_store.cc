#include <fmt/format.h>

#include "authsvc/store/pg_store.h"
#include "authsvc/store/sqlite_store.h"

namespace authsvc {
namespace {

void require_sqlite(const StoreLocation& location, const char* what) {
  if (location.is_postgresql()) {
    throw StoreError(fmt::format(
        "{} is for a SQLite store; back up a PostgreSQL one with PostgreSQL's tools (pg_dump, "
        "a standby), or copy it to a SQLite file with: authsvc store copy",
        what));
  }
}

}  // namespace

bool StoreLocation::is_postgresql() const {
  return where.starts_with("postgresql://") || where.starts_with("postgres://");
}

std::unique_ptr<SqlStore> open_sql_store(const StoreLocation& location, Actor actor,
                                         OpenMode mode) {
  if (location.is_postgresql()) return std::make_unique<PgStore>(location, std::move(actor), mode);
  return std::make_unique<SqliteStore>(location.where, std::move(actor), mode);
}

std::unique_ptr<Store> open_store(const StoreLocation& location, Actor actor, OpenMode mode) {
  return open_sql_store(location, std::move(actor), mode);
}

BackupContents back_up_store(const StoreLocation& location, const std::string& target,
                             const Actor& actor, bool replace) {
  require_sqlite(location, "backup");
  SqliteStore store(location.where, actor);
  return store.back_up(target, replace);
}

BackupContents restore_store(const StoreLocation& location, const std::string& backup,
                             const Actor& actor) {
  require_sqlite(location, "restore");
  return SqliteStore::restore(location.where, backup, actor);
}

}  // namespace authsvc
