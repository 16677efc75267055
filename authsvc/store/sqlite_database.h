#pragma once
// SqlDatabase on a SQLite file, through SQLiteCpp (sql_database.h has the
// contract). A write transaction is BEGIN IMMEDIATE: SQLite's one writer at
// a time is taken at its start, waiting up to the busy timeout.

#include <memory>
#include <string>

#include "authsvc/store/sql_database.h"

namespace SQLite {
class Database;
}

namespace authsvc {

class SqliteDatabase : public SqlDatabase {
 public:
  // Opens `path` with SQLiteCpp's `flags`, waiting up to `busy_timeout_ms`
  // for another connection's write lock.
  SqliteDatabase(const std::string& path, int flags, int busy_timeout_ms);
  // Works on `db`, which the caller owns and keeps open meanwhile: a
  // backup's copy, checked and migrated before it becomes a store.
  explicit SqliteDatabase(SQLite::Database& db);
  ~SqliteDatabase() override;

  // The connection underneath, for what only SQLite has (its online backup).
  SQLite::Database& native() { return *db_; }

  SqlDialect dialect() const override { return SqlDialect::sqlite; }
  std::int64_t exec(std::string_view sql, const SqlParams& params) override;
  void query(std::string_view sql, const SqlParams& params, const SqlRowFn& on_row) override;
  void scan(std::string_view sql, const SqlRowFn& on_row) override;
  std::unique_ptr<SqlCursor> open_cursor(std::string_view sql) override;
  void stream(std::string_view sql, const SqlRowFn& on_row) override;
  void exec_script(std::string_view sql) override;
  void begin(SqlTransactionKind kind) override;
  void commit() override;
  void rollback() noexcept override;
  int schema_version() override;
  void set_schema_version(int version) override;
  std::vector<std::string> table_names() override;
  std::vector<std::string> column_names(const std::string& table) override;
  std::int64_t data_version() override;
  void announce_change(std::string_view) override {}

 private:
  std::unique_ptr<SQLite::Database> owned_;
  SQLite::Database* db_;
};

}  // namespace authsvc
