#include "authsvc/store/sqlite_store.h"

namespace authsvc {

std::unique_ptr<Store> open_store(const std::string& location, Actor actor, OpenMode mode) {
  return std::make_unique<SqliteStore>(location, std::move(actor), mode);
}

}  // namespace authsvc
