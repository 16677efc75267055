#include "authsvc/store/store_copy.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "authsvc/core/text.h"
#include "authsvc/store/sql_database.h"
#include "authsvc/store/sql_store.h"

namespace authsvc {
namespace {

// Every identifier quoted: "user" is a reserved word in PostgreSQL.
std::string identifier(const std::string& name) { return "\"" + name + "\""; }

std::string column_list(const std::vector<std::string>& columns) {
  std::string list;
  for (const std::string& column : columns) list += (list.empty() ? "" : ", ") + identifier(column);
  return list;
}

bool same_store(const StoreLocation& a, const StoreLocation& b) {
  if (a.is_postgresql() || b.is_postgresql()) return a.where == b.where;
  std::error_code error;
  return std::filesystem::exists(b.where, error) &&
         std::filesystem::equivalent(a.where, b.where, error);
}

// The tables in the order they are filled: users first, which the others
// refer to, then by name.
std::vector<std::string> fill_order(std::vector<std::string> tables) {
  std::sort(tables.begin(), tables.end(), [](const std::string& a, const std::string& b) {
    if ((a == "users") != (b == "users")) return a == "users";
    return a < b;
  });
  return tables;
}

std::int64_t count_rows(SqlDatabase& db, const std::string& table) {
  return db.query_int64("SELECT COUNT(*) FROM " + identifier(table)).value_or(0);
}

// PostgreSQL's identities do not follow rows inserted with their ids: each
// goes on past the highest id now, and past any it gave before (a server
// following this store must never see an event id again).
void advance_identities(SqlDatabase& db, const std::vector<std::string>& tables) {
  if (db.dialect() != SqlDialect::postgresql) return;  // SQLite's AUTOINCREMENT does
  for (const std::string& table : tables) {
    std::vector<std::string> columns = db.column_names(table);
    if (std::find(columns.begin(), columns.end(), "id") == columns.end()) continue;
    // pg_get_serial_sequence is NULL for an id that is no identity, and
    // setval and nextval of NULL are NULL: nothing happens.
    db.query(fmt::format("SELECT setval(pg_get_serial_sequence('{0}', 'id'), "
                         "GREATEST(COALESCE(MAX(id), 0), "
                         "nextval(pg_get_serial_sequence('{0}', 'id')))) FROM {0}",
                         identifier(table)),
             {}, [](const SqlRow&) {});
  }
}

// Rows inserted many to a statement: one statement a row took 44 s for
// 100,000 users into PostgreSQL, a round trip each. Bounded by the
// parameters a statement may bind (SQLite's limit is 32,766, PostgreSQL's
// 65,535).
class BatchInsert {
 public:
  BatchInsert(SqlDatabase& db, const std::string& table, const std::vector<std::string>& columns)
      : db_(db), width_(columns.size()) {
    head_ = fmt::format("INSERT INTO {} ({}) VALUES ", identifier(table), column_list(columns));
    row_ = "(";
    for (std::size_t i = 0; i < width_; ++i) row_ += i == 0 ? "?" : ", ?";
    row_ += ")";
    rows_per_statement_ = std::max<std::size_t>(1, kMaxParams / std::max<std::size_t>(1, width_));
    rows_per_statement_ = std::min(rows_per_statement_, kMaxRows);
  }

  void add(const SqlRow& row) {
    for (std::size_t i = 0; i < width_; ++i) params_.push_back(row.value(static_cast<int>(i)));
    if (++rows_ == rows_per_statement_) flush();
  }

  void flush() {
    if (rows_ == 0) return;
    if (rows_ != full_statement_rows_) {
      statement_ = head_;
      for (std::size_t i = 0; i < rows_; ++i) statement_ += (i == 0 ? "" : ", ") + row_;
      full_statement_rows_ = rows_;
    }
    db_.exec(statement_, params_);
    params_.clear();
    rows_ = 0;
  }

 private:
  static constexpr std::size_t kMaxParams = 30000;
  static constexpr std::size_t kMaxRows = 500;
  SqlDatabase& db_;
  std::size_t width_;
  std::string head_;
  std::string row_;
  std::size_t rows_per_statement_ = 1;
  std::size_t rows_ = 0;
  SqlParams params_;
  // The statement last made, and for how many rows: every full batch reuses it.
  std::string statement_;
  std::size_t full_statement_rows_ = 0;
};

}  // namespace

std::vector<TableCopy> copy_tables(SqlDatabase& in, SqlDatabase& out) {
  std::vector<std::string> tables = fill_order(in.table_names());
  if (tables != fill_order(out.table_names())) {
    throw StoreError("the source and the target do not have the same tables");
  }
  // Children first, so that no row is left pointing at a deleted user
  // (the migrations' own rows, such as audit_export's, go too: the
  // source's come instead).
  for (auto it = tables.rbegin(); it != tables.rend(); ++it)
    out.exec("DELETE FROM " + identifier(*it));
  std::vector<TableCopy> copies;
  for (const std::string& table : tables) {
    std::vector<std::string> columns = in.column_names(table);
    if (columns != out.column_names(table)) {
      throw StoreError(
          fmt::format("table '{}' has other columns in the source than in the target", table));
    }
    std::int64_t copied = 0;
    BatchInsert insert(out, table, columns);
    in.scan(fmt::format("SELECT {} FROM {}", column_list(columns), identifier(table)),
            [&](const SqlRow& row) {
              insert.add(row);
              ++copied;
            });
    insert.flush();
    std::int64_t there = count_rows(in, table);
    std::int64_t here = count_rows(out, table);
    if (copied != there || here != there) {
      throw StoreError(fmt::format("table '{}': {} rows in the source, {} copied, {} in the target",
                                   table, there, copied, here));
    }
    copies.push_back(TableCopy{table, here});
  }
  advance_identities(out, tables);
  return copies;
}

StoreCopyResult copy_store(const StoreLocation& from, const StoreLocation& to, const Actor& actor,
                           bool replace) {
  if (same_store(from, to)) {
    throw StoreError(fmt::format("'{}' is the store to copy from", printable(to.where)));
  }
  std::unique_ptr<SqlStore> source = open_sql_store(from, actor, OpenMode::existing);
  std::unique_ptr<SqlStore> target = open_sql_store(to, actor, OpenMode::create_if_missing);
  StoreCopyResult result;
  result.schema_version = source->schema_version();
  if (target->schema_version() != result.schema_version) {
    throw StoreError(fmt::format("'{}' is at schema version {} and '{}' at {}",
                                 printable(from.where), result.schema_version, printable(to.where),
                                 target->schema_version()));
  }
  std::string what = fmt::format("copy '{}' to '{}'", printable(from.where), printable(to.where));
  try {
    SqlDatabase& in = source->db();
    SqlDatabase& out = target->db();
    SqlTransaction reading(in, SqlTransactionKind::read);
    SqlTransaction writing(out, SqlTransactionKind::write);
    std::int64_t users_there = count_rows(out, "users");
    if (users_there > 0 && !replace) {
      throw StoreError(
          fmt::format("'{}' holds {} users; give --force to replace everything it holds with '{}'",
                      printable(to.where), users_there, printable(from.where)));
    }
    try {
      result.tables = copy_tables(in, out);
    } catch (const StoreError& e) {
      throw StoreError(fmt::format("cannot {}: {}", what, e.what()));
    }
    target->record_event(
        SqlStore::kStoreCopyAction, "",
        fmt::format("from '{}' ({} users; schema version {})", printable(from.where),
                    result.tables.front().rows, result.schema_version));
    writing.commit();
    reading.commit();
  } catch (const SqlError& e) {
    throw StoreError(fmt::format("cannot {}: {}", what, e.what()));
  }
  // PostgreSQL plans by statistics that tables filled in one transaction do
  // not have until autovacuum comes by: until then it planned serve's load
  // of every user for a table of unknown size (1.6-1.8 s at 1,000,000
  // users, against 1.2 s once analyzed), and sized the user table from no
  // estimate. ANALYZE takes about a second a million users.
  if (target->db().dialect() == SqlDialect::postgresql) {
    try {
      target->db().exec_script("ANALYZE");
    } catch (const SqlError& e) {
      throw StoreError(fmt::format("copied '{}' to '{}', but could not ANALYZE it: {}",
                                   printable(from.where), printable(to.where), e.what()));
    }
  }
  return result;
}

}  // namespace authsvc
