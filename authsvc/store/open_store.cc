#include "authsvc/store/sqlite_store.h"

namespace authsvc {

std::unique_ptr<Store> open_store(const std::string& location, Actor actor, OpenMode mode) {
  return std::make_unique<SqliteStore>(location, std::move(actor), mode);
}

BackupContents back_up_store(const std::string& location, const std::string& target,
                             const Actor& actor, bool replace) {
  SqliteStore store(location, actor);
  return store.back_up(target, replace);
}

BackupContents restore_store(const std::string& location, const std::string& backup,
                             const Actor& actor) {
  return SqliteStore::restore(location, backup, actor);
}

}  // namespace authsvc
