#include "authsvc/store/sqlite_database.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <type_traits>
#include <utility>
#include <variant>

namespace authsvc {
namespace {

// SQLite's exceptions, as SqlError: the store's one kind of library failure.
template <typename Fn>
auto translated(Fn&& fn) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    throw SqlError(e.what());
  }
}

// A statement of SQLite's own API: SQLiteCpp's Statement hands out each
// column as an object holding a shared pointer to the statement, an atomic
// increment and decrement a column read, and reading every column of a
// million users spent a sixth of its time in them.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &statement_, nullptr) !=
        SQLITE_OK) {
      throw error();
    }
    if (statement_ == nullptr) throw SqlError("the statement is empty");
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(const SqlParams& params) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i) + 1;
      // SQLITE_STATIC: the parameters outlive the statement's steps.
      int rc = std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              return sqlite3_bind_null(statement_, index);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              return sqlite3_bind_int64(statement_, index, v);
            } else if constexpr (std::is_same_v<T, std::string>) {
              return sqlite3_bind_text64(statement_, index, v.data(), v.size(), SQLITE_STATIC,
                                         SQLITE_UTF8);
            } else {
              // A null pointer would bind NULL: empty bytes are still bytes.
              static const std::uint8_t kNone = 0;
              return sqlite3_bind_blob64(statement_, index,
                                         v.bytes.empty() ? &kNone : v.bytes.data(), v.bytes.size(),
                                         SQLITE_STATIC);
            }
          },
          params[i].value());
      if (rc != SQLITE_OK) throw error();
    }
  }

  // True with a row to read, false after the last.
  bool step() {
    int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw error();
  }

  sqlite3_stmt* get() const { return statement_; }

 private:
  SqlError error() const { return SqlError(sqlite3_errmsg(db_)); }

  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
};

class SqliteRow : public SqlRow {
 public:
  explicit SqliteRow(const Statement& statement)
      : statement_(statement.get()), columns_(sqlite3_column_count(statement_)) {}

  bool is_null(int column) const override { return type(column) == SQLITE_NULL; }

  std::int64_t int64(int column) const override {
    if (type(column) != SQLITE_INTEGER) throw mismatch(column, "an integer");
    return sqlite3_column_int64(statement_, column);
  }

  std::string text(int column) const override { return std::string(text_view(column)); }

  std::string_view text_view(int column) const override {
    if (type(column) != SQLITE_TEXT) throw mismatch(column, "text");
    // The text first, then its size (SQLite's own order: the size of the
    // text as converted, were it converted).
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    return {text, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column))};
  }

  void bytes_into(int column, std::vector<std::uint8_t>& out) const override {
    if (type(column) != SQLITE_BLOB) throw mismatch(column, "bytes");
    const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, column));
    out.assign(data, data + sqlite3_column_bytes(statement_, column));
  }

  SqlParam value(int column) const override {
    switch (type(column)) {
      case SQLITE_NULL:
        return SqlParam();
      case SQLITE_INTEGER:
        return SqlParam(int64(column));
      case SQLITE_TEXT:
        return SqlParam(text(column));
      case SQLITE_BLOB:
        return SqlParam(SqlBytes{bytes(column)});
      default:
        throw SqlError(fmt::format("column {} holds a floating-point number", name(column)));
    }
  }

  std::vector<std::uint8_t> bytes(int column) const override {
    std::vector<std::uint8_t> out;
    bytes_into(column, out);
    return out;
  }

 private:
  int type(int column) const {
    if (column < 0 || column >= columns_) {
      throw SqlError(fmt::format("no column {} in a row of {}", column, columns_));
    }
    return sqlite3_column_type(statement_, column);
  }
  std::string name(int column) const {
    const char* name = sqlite3_column_name(statement_, column);
    return name != nullptr ? name : fmt::format("{}", column);
  }
  SqlError mismatch(int column, const char* expected) const {
    return SqlError(fmt::format("column {} holds {}, not {}", name(column),
                                is_null(column) ? "NULL" : "another type", expected));
  }

  sqlite3_stmt* statement_;
  int columns_;
};

class SqliteCursor : public SqlCursor {
 public:
  SqliteCursor(sqlite3* db, std::string_view sql) : statement_(db, sql), row_(statement_) {}

  const SqlRow* next() override { return statement_.step() ? &row_ : nullptr; }

 private:
  Statement statement_;
  SqliteRow row_;
};

}  // namespace

SqliteDatabase::SqliteDatabase(const std::string& path, int flags, int busy_timeout_ms) {
  translated([&] {
    owned_ = std::make_unique<SQLite::Database>(path, flags, busy_timeout_ms);
    db_ = owned_.get();
  });
}

SqliteDatabase::SqliteDatabase(SQLite::Database& db) : db_(&db) {}

SqliteDatabase::~SqliteDatabase() = default;

std::int64_t SqliteDatabase::exec(std::string_view sql, const SqlParams& params) {
  Statement statement(db_->getHandle(), sql);
  statement.bind(params);
  while (statement.step()) {
  }
  return sqlite3_changes64(db_->getHandle());
}

void SqliteDatabase::query(std::string_view sql, const SqlParams& params, const SqlRowFn& on_row) {
  Statement statement(db_->getHandle(), sql);
  statement.bind(params);
  SqliteRow row(statement);
  while (statement.step()) on_row(row);
}

// SQLite steps through a result without holding it: a query is a scan.
void SqliteDatabase::scan(std::string_view sql, const SqlRowFn& on_row) { query(sql, {}, on_row); }

// SQLite's statements step through their result as it is read already.
void SqliteDatabase::stream(std::string_view sql, const SqlRowFn& on_row) {
  query(sql, {}, on_row);
}

std::unique_ptr<SqlCursor> SqliteDatabase::open_cursor(std::string_view sql) {
  return std::make_unique<SqliteCursor>(db_->getHandle(), sql);
}

void SqliteDatabase::exec_script(std::string_view sql) {
  translated([&] { db_->exec(std::string(sql)); });
}

void SqliteDatabase::begin(SqlTransactionKind kind) {
  translated([&] { db_->exec(kind == SqlTransactionKind::write ? "BEGIN IMMEDIATE" : "BEGIN"); });
}

void SqliteDatabase::commit() {
  translated([&] { db_->exec("COMMIT"); });
}

void SqliteDatabase::rollback() noexcept {
  try {
    db_->exec("ROLLBACK");
  } catch (...) {
    // SQLite rolled back already (an I/O error, a full disk), or the
    // connection is broken: either way, nothing of the transaction stays.
  }
}

int SqliteDatabase::schema_version() {
  return translated([&] { return db_->execAndGet("PRAGMA user_version").getInt(); });
}

void SqliteDatabase::set_schema_version(int version) {
  translated([&] { db_->exec(fmt::format("PRAGMA user_version = {}", version)); });
}

std::vector<std::string> SqliteDatabase::table_names() {
  std::vector<std::string> names;
  query(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
      "ESCAPE '\\' ORDER BY name",
      {}, [&](const SqlRow& row) { names.push_back(row.text(0)); });
  return names;
}

std::vector<std::string> SqliteDatabase::column_names(const std::string& table) {
  std::vector<std::string> names;
  query("SELECT name FROM pragma_table_info(?) ORDER BY cid", {table},
        [&](const SqlRow& row) { names.push_back(row.text(0)); });
  return names;
}

std::int64_t SqliteDatabase::data_version() {
  return translated([&] { return db_->execAndGet("PRAGMA data_version").getInt64(); });
}

}  // namespace authsvc
