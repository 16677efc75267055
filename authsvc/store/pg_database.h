#pragma once
// PostgreSQL's SqlDatabase (sql_database.h): one connection to a server,
// through libpqxx 6 (Debian 12's). What the store needs, nothing of its
// logic: `?` placeholders, transactions whose writers go one at a time,
// cursors for large results, and the schema version, which PostgreSQL has
// no PRAGMA for (schema/postgresql/README.md).
//
// A lost connection stays lost: every later call fails, saying so, until
// the store opens a new PgDatabase (libpqxx 6 would otherwise reconnect
// silently, in the middle of what was a transaction).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authsvc/store/sql_database.h"

namespace authsvc {

class PgDatabase : public SqlDatabase {
 public:
  // Connects to `location`, a libpq URI (postgresql://h1:5432,h2:5433/authsvc?
  // target_session_attrs=read-write) or keyword=value string, with
  // `password` if given (read by the caller from a password file). A
  // location that carries a password itself is refused: it would be seen
  // on command lines and in messages. libpq's other sources of a password
  // (~/.pgpass, passfile=, PGPASSWORD) still work when `password` is not
  // given. Throws SqlError.
  explicit PgDatabase(const std::string& location,
                      const std::optional<std::string>& password = std::nullopt);
  ~PgDatabase() override;
  PgDatabase(const PgDatabase&) = delete;
  PgDatabase& operator=(const PgDatabase&) = delete;

  SqlDialect dialect() const override { return SqlDialect::postgresql; }

  std::int64_t exec(std::string_view sql, const SqlParams& params = {}) override;
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
  // How many changes other connections announced since the first call
  // (which starts listening): NOTIFYs on kChangeChannel, read without
  // waiting.
  std::int64_t data_version() override;
  // Sleeps in poll() on the connection's socket and `wake_fd`: true as soon
  // as a notice of another connection arrives (or one that arrived since the
  // last data_version() is waiting).
  bool wait_for_change(std::chrono::milliseconds timeout, int wake_fd) override;
  void announce_change(std::string_view what) override;
  static constexpr const char* kChangeChannel = "authsvc_changes";

  // The advisory lock every write transaction takes first
  // (pg_advisory_xact_lock): "authsvc\0" in ASCII. Locks are per database,
  // so stores in other databases of the same server do not wait for it.
  static constexpr std::int64_t kWriteLockKey = 0x6175746873766300;
  // How many rows scan() fetches at a time.
  static constexpr int kScanBatch = 10000;
  // libpq's connection and what is kept with it (pg_database.cc's own; its
  // cursors hold it).
  struct Connection;

 private:
  void take_notices();
  std::unique_ptr<Connection> connection_;
};

// The keyword=value string PgDatabase gives libpq for `location` and
// `password`: every option of the location (parsed by libpq, so a URI and
// several hosts work), quoted; then, unless the location sets them,
// connect_timeout=5, fallback_application_name=authsvc,
// client_encoding=UTF8 and TCP keepalives (after 30 s idle, every 10 s, 3
// missed: a silent peer fails the connection in about a minute); then the
// password. Throws SqlError for a location libpq cannot parse
// or one that carries a password (or sslpassword). Holds the password: for
// libpq only, never for a message.
std::string pg_connection_string(std::string_view location,
                                 const std::optional<std::string>& password);

// A statement as PostgreSQL takes it: each `?` turned into $1, $2, ... in
// order, except inside '...' and E'...' literals, "..." identifiers, and
// -- and /* */ comments; `count` is how many there were.
struct PgStatement {
  std::string sql;
  int count = 0;
};
PgStatement pg_numbered_placeholders(std::string_view sql);

}  // namespace authsvc
