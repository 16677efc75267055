#include "authsvc/store/pg_store.h"

#include "authsvc/core/embedded_file.h"
#include "authsvc/store/pg_database.h"

namespace authsvc {
namespace {

// The location as messages show it: a password written into a URI (which
// PgDatabase refuses) replaced by "***", so that the refusal does not
// repeat it.
std::string shown(std::string where) {
  // ?password=... (and sslpassword=...), as the query string gives it.
  for (std::size_t at = where.find("password=", where.find('?'));
       where.find('?') != std::string::npos && at != std::string::npos;
       at = where.find("password=", at + 1)) {
    std::size_t value = at + 9;
    std::size_t end = where.find('&', value);
    where.replace(value, (end == std::string::npos ? where.size() : end) - value, "***");
  }
  std::size_t scheme = where.find("://");
  if (scheme == std::string::npos) return where;
  std::size_t start = scheme + 3;
  std::size_t at = where.find('@', start);
  std::size_t end = where.find_first_of("/?", start);
  if (at == std::string::npos || (end != std::string::npos && end < at)) return where;
  std::size_t colon = where.find(':', start);
  if (colon == std::string::npos || colon > at) return where;
  return where.substr(0, colon + 1) + "***" + where.substr(at);
}

}  // namespace

PgStore::PgStore(const StoreLocation& location, Actor actor, OpenMode mode)
    : SqlStore(
          shown(location.where),
          [location](OpenMode) -> std::unique_ptr<SqlDatabase> {
            std::optional<std::string> password;
            if (!location.password.empty()) password = location.password;
            return std::make_unique<PgDatabase>(location.where, password);
          },
          std::span<const EmbeddedFile>(embedded_pg_migrations, embedded_pg_migrations_count),
          std::move(actor), mode) {}

}  // namespace authsvc
