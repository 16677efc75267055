#pragma once
// What the store needs of a SQL database, so that one implementation of the
// store's logic (sql_store.h) runs on SQLite (sqlite_database.h) and on
// PostgreSQL (pg_database.h) alike. A statement is written once, in the SQL
// both understand, with `?` for each parameter; where they differ (few
// places), the store asks dialect().
//
// A SqlDatabase is one connection, used by one thread at a time.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace authsvc {

// A database library's failure, as one line of text: the store turns it into
// a StoreError that says what it was doing. Never carries a parameter's
// value (a token's hash, a password).
class SqlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class SqlDialect { sqlite, postgresql };

// Bytes, as a BLOB (SQLite) or a BYTEA (PostgreSQL).
struct SqlBytes {
  std::vector<std::uint8_t> bytes;
};

// One parameter of a statement: NULL, an integer, text or bytes.
class SqlParam {
 public:
  using Value = std::variant<std::monostate, std::int64_t, std::string, SqlBytes>;

  SqlParam() = default;  // NULL
  SqlParam(std::nullopt_t) {}
  SqlParam(std::int64_t v) : value_(v) {}
  SqlParam(int v) : value_(std::int64_t{v}) {}
  SqlParam(std::string v) : value_(std::move(v)) {}
  SqlParam(std::string_view v) : value_(std::string(v)) {}
  SqlParam(const char* v) : value_(std::string(v)) {}
  SqlParam(SqlBytes v) : value_(std::move(v)) {}
  // NULL when empty: how the schema keeps "no time" and "never".
  static SqlParam text_or_null(const std::string& v) {
    return v.empty() ? SqlParam() : SqlParam(v);
  }
  template <typename T>
  static SqlParam optional(const std::optional<T>& v) {
    return v ? SqlParam(*v) : SqlParam();
  }
  template <typename Range>
  static SqlParam bytes(const Range& range) {
    return SqlParam(SqlBytes{{std::begin(range), std::end(range)}});
  }

  const Value& value() const { return value_; }

 private:
  Value value_;
};

using SqlParams = std::vector<SqlParam>;

// One row of a result, valid only during the call it is passed to. Columns
// count from 0. Reading a column as a type it does not hold throws SqlError.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual bool is_null(int column) const = 0;
  virtual std::int64_t int64(int column) const = 0;
  virtual std::string text(int column) const = 0;
  virtual std::vector<std::uint8_t> bytes(int column) const = 0;
  // The column's value as it is stored, whatever its type: what a copy of
  // a table to another database binds again.
  virtual SqlParam value(int column) const = 0;
  // text() and bytes() without a copy each: for a scan of every user, where
  // an allocation a column is much of the time. The text is valid during
  // the call the row is passed to; the bytes replace `out`'s, which keeps
  // its capacity from row to row.
  virtual std::string_view text_view(int column) const = 0;
  virtual void bytes_into(int column, std::vector<std::uint8_t>& out) const = 0;

  std::string text_or_empty(int column) const { return is_null(column) ? "" : text(column); }
  std::optional<std::int64_t> optional_int64(int column) const {
    if (is_null(column)) return std::nullopt;
    return int64(column);
  }
};

using SqlRowFn = std::function<void(const SqlRow&)>;

// A query's rows, pulled one at a time by the caller: several open at once
// in one transaction let it merge results ordered alike (every user's
// rows from three tables, without a join's index lookup a row). Closed
// when destroyed; must not outlive its transaction.
class SqlCursor {
 public:
  virtual ~SqlCursor() = default;
  // The next row, valid until the next call; null after the last.
  virtual const SqlRow* next() = 0;
};

enum class SqlTransactionKind {
  // One consistent view of the data for all the reads in it.
  read,
  // Takes the database's write lock at its start, so that writers go one at
  // a time: audit event ids are then in commit order, which a server that
  // follows the events by id relies on.
  write,
};

class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;

  virtual SqlDialect dialect() const = 0;

  // Runs one statement; returns how many rows it changed.
  virtual std::int64_t exec(std::string_view sql, const SqlParams& params = {}) = 0;
  // Runs a query, calling on_row for each of its rows, in order.
  virtual void query(std::string_view sql, const SqlParams& params, const SqlRowFn& on_row) = 0;
  // The same, for a result too large to hold in memory at once (every user
  // of a large store): the rows are fetched in batches, inside a
  // transaction the caller has begun. No parameters.
  virtual void scan(std::string_view sql, const SqlRowFn& on_row) = 0;
  // A scan's rows as a cursor, inside a transaction the caller has begun.
  // No parameters.
  virtual std::unique_ptr<SqlCursor> open_cursor(std::string_view sql) = 0;
  // A query's rows as the database produces them, for one pass over a
  // large result (every user of a store), inside a transaction the caller
  // has begun. No parameters. PostgreSQL sends them as a binary COPY
  // (pg_binary_copy.h), which overlaps the server's work with the
  // caller's: read each column as the type the query gives it (int64,
  // text_view, bytes_into), never with value().
  virtual void stream(std::string_view sql, const SqlRowFn& on_row) = 0;
  // Runs statements separated by semicolons, with no parameters: a
  // migration.
  virtual void exec_script(std::string_view sql) = 0;

  // Not nested; SqlTransaction is how the store uses them.
  virtual void begin(SqlTransactionKind kind) = 0;
  virtual void commit() = 0;
  // Never throws: it runs while an exception unwinds.
  virtual void rollback() noexcept = 0;

  // The last migration applied (0: none), and recording it, in the
  // migration's transaction.
  virtual int schema_version() = 0;
  virtual void set_schema_version(int version) = 0;

  // The tables of authsvc's data, by name, without the database's own
  // bookkeeping (SQLite's sqlite_* tables, PostgreSQL's schema version);
  // and a table's columns, in order.
  virtual std::vector<std::string> table_names() = 0;
  virtual std::vector<std::string> column_names(const std::string& table) = 0;

  // Changes whenever another connection has committed a change to the
  // users: cheap enough to call several times a second.
  virtual std::int64_t data_version() = 0;
  // Tells every other connection's data_version() that the caller's write
  // transaction changed `what` (a user's name, "guardian"), once it
  // commits. PostgreSQL: a NOTIFY, which reaches every node at once;
  // SQLite's data_version sees every commit by itself.
  virtual void announce_change(std::string_view what) = 0;
  // Until another connection announces a change (true), `timeout` passes,
  // or `wake_fd` (a WakeSignal's) is readable (false). This one is for a
  // database that cannot be told (SQLite): it waits for the timeout or the
  // wake.
  virtual bool wait_for_change(std::chrono::milliseconds timeout, int wake_fd);

  // Helpers over query().
  // Calls on_row for the first row only; false if there was none.
  bool query_first(std::string_view sql, const SqlParams& params, const SqlRowFn& on_row);
  // The first column of the first row; nullopt if there is no row, or the
  // value is NULL.
  std::optional<std::int64_t> query_int64(std::string_view sql, const SqlParams& params = {});
};

// A transaction of `db`, rolled back when it goes out of scope uncommitted
// (an exception, or a change that turned out to change nothing).
class SqlTransaction {
 public:
  SqlTransaction(SqlDatabase& db, SqlTransactionKind kind);
  ~SqlTransaction();
  SqlTransaction(const SqlTransaction&) = delete;
  SqlTransaction& operator=(const SqlTransaction&) = delete;
  void commit();

 private:
  SqlDatabase& db_;
  bool open_ = true;
};

}  // namespace authsvc
