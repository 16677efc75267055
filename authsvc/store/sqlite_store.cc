#include "authsvc/store/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>

#include "authsvc/core/embedded_file.h"
#include "authsvc/core/names.h"
#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/token.h"
#include "authsvc/core/words.h"
#include "authsvc/store/validation.h"

namespace authsvc {
namespace {

// The leading number of a migration's file name: "002_x.sql" -> 2.
int migration_number(std::string_view name) {
  int n = 0;
  std::size_t i = 0;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) n = n * 10 + (name[i] - '0');
  if (i == 0) throw std::logic_error("migration without a number: " + std::string(name));
  return n;
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path, Actor actor, OpenMode mode)
    : path_(path), actor_(std::move(actor)) {
  open_database(mode);
}

void SqliteStore::require_exists(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    throw StoreError(
        fmt::format("database '{}' does not exist (create it with: authsvc init --db {})",
                    printable(path), printable(path)));
  }
}

void SqliteStore::open_database(OpenMode mode) {
  if (mode == OpenMode::existing) require_exists(path_);
  try {
    guarded(fmt::format("open database '{}'", printable(path_)), [&] {
      int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_FULLMUTEX;
      if (mode == OpenMode::create_if_missing) flags |= SQLite::OPEN_CREATE;
      db_ = std::make_unique<SQLite::Database>(path_, flags, kBusyTimeoutMs);
      db().exec("PRAGMA journal_mode = WAL");
      db().exec("PRAGMA foreign_keys = ON");
      db().exec("PRAGMA synchronous = NORMAL");
      migrate(db());
    });
  } catch (...) {
    // Whatever failed (SQLite, or migrate() refusing a newer schema), no
    // connection is left open: until a reopen succeeds, every call fails.
    db_.reset();
    throw;
  }
}

SQLite::Database& SqliteStore::db() {
  if (!db_)
    throw StoreError(
        fmt::format("database '{}' is not open (an earlier reopen failed)", printable(path_)));
  return *db_;
}

void SqliteStore::reopen() {
  db_.reset();
  open_database(OpenMode::existing);
}

SqliteStore::~SqliteStore() = default;

void SqliteStore::run_guarded(std::string_view what, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const SQLite::Exception& e) {
    throw StoreError(fmt::format("cannot {}: {}", what, e.what()));
  }
}

int SqliteStore::latest_schema_version() {
  int latest = 0;
  for (std::size_t i = 0; i < embedded_migrations_count; ++i) {
    latest = std::max(latest, migration_number(embedded_migrations[i].name));
  }
  return latest;
}

void SqliteStore::migrate(SQLite::Database& db) {
  SQLite::Transaction txn(db, SQLite::TransactionBehavior::IMMEDIATE);
  int version = db.execAndGet("PRAGMA user_version").getInt();
  int latest = latest_schema_version();
  for (std::size_t i = 0; i < embedded_migrations_count; ++i) {
    const EmbeddedFile& migration = embedded_migrations[i];
    int number = migration_number(migration.name);
    if (number <= version) continue;
    db.exec(std::string(migration.content));
    db.exec(fmt::format("PRAGMA user_version = {}", number));
  }
  if (version > latest) {
    throw StoreError(fmt::format(
        "database schema version {} is newer than this authsvc knows ({}); refusing to use it",
        version, latest));
  }
  txn.commit();
}

int SqliteStore::schema_version() {
  return guarded("read the schema version",
                 [&] { return db().execAndGet("PRAGMA user_version").getInt(); });
}

std::int64_t SqliteStore::user_id(const std::string& name) {
  SQLite::Statement q(db(), "SELECT id FROM users WHERE name = ?");
  q.bind(1, name);
  if (!q.executeStep()) throw StoreError(fmt::format("no such user '{}'", printable(name)));
  return q.getColumn(0).getInt64();
}

std::int64_t SqliteStore::owned_user_id(const std::string& name) {
  if (owner_limit_.empty()) return user_id(name);
  // user_owners.address compares without case (COLLATE NOCASE).
  SQLite::Statement q(db(),
                      "SELECT u.id FROM users u WHERE u.name = ? AND EXISTS "
                      "(SELECT 1 FROM user_owners o WHERE o.user_id = u.id AND o.address = ?)");
  q.bind(1, name);
  q.bind(2, owner_limit_);
  if (!q.executeStep()) throw StoreError(fmt::format("no such user '{}'", printable(name)));
  return q.getColumn(0).getInt64();
}

std::string SqliteStore::now() { return rfc3339_utc(std::chrono::system_clock::now()); }

void SqliteStore::record_event(const std::string& action, const std::string& user,
                               const std::string& detail) {
  SQLite::Statement q(db(),
                      "INSERT INTO audit_events (ts, actor, operator, action, user, detail) "
                      "VALUES (?, ?, ?, ?, ?, ?)");
  q.bind(1, now());
  q.bind(2, actor_.actor);
  q.bind(3, actor_.operator_name);
  q.bind(4, action);
  q.bind(5, user);
  q.bind(6, detail);
  q.exec();
}

namespace {

constexpr const char* kUserRecordQuery =
    "SELECT u.id, u.name, u.status, u.tags, u.expires_at, c.scheme, c.hash, "
    "       p.scheme, p.hash, p.valid_until, v.vhost "
    "FROM users u "
    "JOIN credentials c ON c.user_id = u.id AND c.slot = 'current' "
    "LEFT JOIN credentials p ON p.user_id = u.id AND p.slot = 'previous' "
    "LEFT JOIN user_vhosts v ON v.user_id = u.id ";

std::chrono::system_clock::time_point time_column(const SQLite::Column& column,
                                                  const std::string& user) {
  std::optional<std::int64_t> ms = rfc3339_to_unix_ms(column.getString());
  if (!ms) {
    throw StoreError(fmt::format("user '{}' has a malformed time in column {}", printable(user),
                                 column.getName()));
  }
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms));
}

Credential credential_columns(const SQLite::Column& scheme_column,
                              const SQLite::Column& hash_column, const std::string& user) {
  std::optional<CredentialScheme> scheme = credential_scheme_from_string(scheme_column.getString());
  const auto* bytes = static_cast<const std::uint8_t*>(hash_column.getBlob());
  Credential credential;
  if (scheme) credential = Credential{*scheme, {bytes, bytes + hash_column.getBytes()}};
  if (!scheme || credential.hash.size() != stored_hash_size(*scheme)) {
    throw StoreError(fmt::format("user '{}' has a malformed credential", printable(user)));
  }
  return credential;
}

// Rows of kUserRecordQuery, ordered by user, into records.
std::vector<UserRecord> read_user_records(SQLite::Statement& q) {
  std::vector<UserRecord> users;
  std::int64_t last_id = -1;
  while (q.executeStep()) {
    std::int64_t id = q.getColumn(0).getInt64();
    if (id != last_id) {
      last_id = id;
      UserRecord user;
      user.name = q.getColumn(1).getString();
      user.active = q.getColumn(2).getString() == "active";
      user.tags = q.getColumn(3).getString();
      if (!q.getColumn(4).isNull()) user.expires_at = time_column(q.getColumn(4), user.name);
      user.credential = credential_columns(q.getColumn(5), q.getColumn(6), user.name);
      if (!q.getColumn(7).isNull()) {
        user.previous = credential_columns(q.getColumn(7), q.getColumn(8), user.name);
        user.previous_valid_until = time_column(q.getColumn(9), user.name);
      }
      users.push_back(std::move(user));
    }
    if (!q.getColumn(10).isNull()) users.back().vhosts.push_back(q.getColumn(10).getString());
  }
  return users;
}

std::int64_t last_event_id_of(SQLite::Database& db) {
  return db.execAndGet("SELECT COALESCE(MAX(id), 0) FROM audit_events").getInt64();
}

}  // namespace

std::vector<UserRecord> SqliteStore::load_users(std::int64_t* last_event_id) {
  return guarded("load users", [&] {
    SQLite::Transaction txn(db());  // one read transaction: a consistent view
    SQLite::Statement q(db(), std::string(kUserRecordQuery) + "ORDER BY u.id");
    std::vector<UserRecord> users = read_user_records(q);
    if (last_event_id) *last_event_id = last_event_id_of(db());
    txn.commit();
    return users;
  });
}

std::optional<std::vector<UserChange>> SqliteStore::changed_users_since(
    std::int64_t after, std::size_t limit, std::int64_t& last_event_id) {
  return guarded("read the changed users", [&]() -> std::optional<std::vector<UserChange>> {
    SQLite::Transaction txn(db());
    SQLite::Statement events(db(),
                             "SELECT id, user, action FROM audit_events WHERE id > ? ORDER BY id");
    events.bind(1, after);
    std::set<std::string> names;
    std::int64_t last = after;
    while (events.executeStep()) {
      last = events.getColumn(0).getInt64();
      names.insert(events.getColumn(1).getString());
      // A restore replaced every user at once, under one event that names
      // none of them.
      if (names.size() > limit || events.getColumn(2).getString() == kRestoreAction) {
        return std::nullopt;
      }
    }
    SQLite::Statement one(db(), std::string(kUserRecordQuery) + "WHERE u.name = ?");
    std::vector<UserChange> changes;
    for (const std::string& name : names) {
      one.reset();
      one.bind(1, name);
      std::vector<UserRecord> found = read_user_records(one);
      changes.push_back(UserChange{
          name, found.empty() ? std::nullopt : std::optional<UserRecord>(std::move(found[0]))});
    }
    last_event_id = last;
    txn.commit();
    return changes;
  });
}

std::int64_t SqliteStore::data_version() {
  return guarded("read the data version",
                 [&] { return db().execAndGet("PRAGMA data_version").getInt64(); });
}

std::vector<AuditEvent> SqliteStore::unexported_audit_events(std::int64_t after_id) {
  return guarded("read the audit events", [&] {
    SQLite::Statement q(db(),
                        "SELECT id, ts, actor, operator, action, user, detail FROM audit_events "
                        "WHERE id > max(?, (SELECT last_event_id FROM audit_export WHERE id = 1)) "
                        "ORDER BY id LIMIT 10000");
    q.bind(1, after_id);
    std::vector<AuditEvent> events;
    while (q.executeStep()) {
      events.push_back(AuditEvent{q.getColumn(0).getInt64(), q.getColumn(1).getString(),
                                  q.getColumn(2).getString(), q.getColumn(3).getString(),
                                  q.getColumn(4).getString(), q.getColumn(5).getString(),
                                  q.getColumn(6).getString()});
    }
    return events;
  });
}

void SqliteStore::mark_audit_events_exported(std::int64_t last_id) {
  guarded("mark the audit events exported", [&] {
    SQLite::Statement q(db(), "UPDATE audit_export SET last_event_id = ? WHERE id = 1");
    q.bind(1, last_id);
    q.exec();
  });
}

}  // namespace authsvc
