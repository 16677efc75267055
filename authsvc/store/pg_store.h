#pragma once
// The store in a PostgreSQL database, shared by several authsvc nodes (one
// beside each RabbitMQ node): the same logic as SQLite's (sql_store.h) on
// PgDatabase, with schema/postgresql/*.sql for the schema. The database
// itself is the operator's to create (schema/postgresql/README.md);
// `authsvc init` gives it authsvc's schema.

#include "authsvc/store/sql_store.h"

namespace authsvc {

class PgStore : public SqlStore {
 public:
  // Connects to `location` (a URI, with the password from its file) and
  // applies any pending migration; with OpenMode::existing, a database
  // without authsvc's schema is refused.
  PgStore(const StoreLocation& location, Actor actor, OpenMode mode = OpenMode::existing);
};

}  // namespace authsvc
