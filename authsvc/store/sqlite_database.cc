#include "authsvc/store/sqlite_database.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <type_traits>
#include <utility>

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

class SqliteRow : public SqlRow {
 public:
  explicit SqliteRow(SQLite::Statement& statement) : statement_(statement) {}

  bool is_null(int column) const override { return statement_.getColumn(column).isNull(); }

  std::int64_t int64(int column) const override {
    SQLite::Column c = statement_.getColumn(column);
    if (!c.isInteger()) throw mismatch(c, "an integer");
    return c.getInt64();
  }

  std::string text(int column) const override { return std::string(text_view(column)); }

  std::string_view text_view(int column) const override {
    SQLite::Column c = statement_.getColumn(column);
    if (!c.isText()) throw mismatch(c, "text");
    const char* text = c.getText();
    return {text, static_cast<std::size_t>(c.getBytes())};
  }

  void bytes_into(int column, std::vector<std::uint8_t>& out) const override {
    SQLite::Column c = statement_.getColumn(column);
    if (!c.isBlob()) throw mismatch(c, "bytes");
    const auto* data = static_cast<const std::uint8_t*>(c.getBlob());
    out.assign(data, data + c.getBytes());
  }

  SqlParam value(int column) const override {
    SQLite::Column c = statement_.getColumn(column);
    if (c.isNull()) return SqlParam();
    if (c.isInteger()) return SqlParam(c.getInt64());
    if (c.isText()) return SqlParam(c.getString());
    if (c.isBlob()) return SqlParam(SqlBytes{bytes(column)});
    throw SqlError(fmt::format("column {} holds a floating-point number", c.getName()));
  }

  std::vector<std::uint8_t> bytes(int column) const override {
    std::vector<std::uint8_t> out;
    bytes_into(column, out);
    return out;
  }

 private:
  static SqlError mismatch(const SQLite::Column& c, const char* expected) {
    return SqlError(fmt::format("column {} holds {}, not {}", c.getName(),
                                c.isNull() ? "NULL" : "another type", expected));
  }

  SQLite::Statement& statement_;
};

class SqliteCursor : public SqlCursor {
 public:
  SqliteCursor(SQLite::Database& db, std::string_view sql)
      : statement_(db, std::string(sql)), row_(statement_) {}

  const SqlRow* next() override {
    return translated(
        [&]() -> const SqlRow* { return statement_.executeStep() ? &row_ : nullptr; });
  }

 private:
  SQLite::Statement statement_;
  SqliteRow row_;
};

void bind_all(SQLite::Statement& statement, const SqlParams& params) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    int index = static_cast<int>(i) + 1;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            statement.bind(index);
          } else if constexpr (std::is_same_v<T, SqlBytes>) {
            // A null pointer would bind NULL: empty bytes are still bytes.
            static const std::uint8_t kNone = 0;
            statement.bind(index, v.bytes.empty() ? &kNone : v.bytes.data(),
                           static_cast<int>(v.bytes.size()));
          } else {
            statement.bind(index, v);
          }
        },
        params[i].value());
  }
}

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
  return translated([&]() -> std::int64_t {
    SQLite::Statement statement(*db_, std::string(sql));
    bind_all(statement, params);
    return statement.exec();
  });
}

void SqliteDatabase::query(std::string_view sql, const SqlParams& params, const SqlRowFn& on_row) {
  translated([&] {
    SQLite::Statement statement(*db_, std::string(sql));
    bind_all(statement, params);
    SqliteRow row(statement);
    while (statement.executeStep()) on_row(row);
  });
}

// SQLite steps through a result without holding it: a query is a scan.
void SqliteDatabase::scan(std::string_view sql, const SqlRowFn& on_row) { query(sql, {}, on_row); }

// SQLite's statements step through their result as it is read already.
void SqliteDatabase::stream(std::string_view sql, const SqlRowFn& on_row) {
  query(sql, {}, on_row);
}

std::unique_ptr<SqlCursor> SqliteDatabase::open_cursor(std::string_view sql) {
  return translated([&] { return std::make_unique<SqliteCursor>(*db_, sql); });
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
