#pragma once
// `authsvc store copy`: everything one store holds, into another, SQLite to
// PostgreSQL and back (moving to several nodes, or a PostgreSQL store to
// one file): every table of the schema, row by row with its own ids, so
// that tokens' hashes, owners, graces, expiries, the guardian's state, the
// audit events and the web's sessions and keys all come along.

#include <cstdint>
#include <string>
#include <vector>

#include "authsvc/store/store.h"

namespace authsvc {

class SqlDatabase;  // sql_database.h: the store's own, not its users'

struct TableCopy {
  std::string table;
  std::int64_t rows = 0;
};

struct StoreCopyResult {
  std::vector<TableCopy> tables;  // users first, then by name
  int schema_version = 0;
};

// Replaces every row of `out` with `in`'s, table by table, each with its
// own ids, and counts each table's rows on both sides; PostgreSQL's
// identities are moved past the copied ids. Both must hold the same schema
// version, and are used inside transactions the caller holds. Throws
// StoreError (a table or column that differs, a count that does not
// match) and SqlError.
std::vector<TableCopy> copy_tables(SqlDatabase& in, SqlDatabase& out);

// Copies `from` (which must exist) into `to`, both first brought to this
// build's schema; `to` is created if it is a SQLite file that does not
// exist, and given the schema if it has none. All in one transaction of
// `to`, from one consistent view of `from`: a failed copy leaves `to` as it
// was. A `to` that holds any user is refused unless `replace`, which
// replaces everything it holds. The rows of every table are counted on
// both sides before the commit. The copy is audited in `to` as "store
// copy", after the copied events: a server following `to` reloads every
// user. Throws StoreError.
StoreCopyResult copy_store(const StoreLocation& from, const StoreLocation& to, const Actor& actor,
                           bool replace);

}  // namespace authsvc
