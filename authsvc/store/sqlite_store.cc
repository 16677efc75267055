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

constexpr int kBusyTimeoutMs = 5000;

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

void SqliteStore::open_database(OpenMode mode) {
  struct stat st {};
  if (mode == OpenMode::existing && stat(path_.c_str(), &st) != 0) {
    throw StoreError(
        fmt::format("database '{}' does not exist (create it with: authsvc init --db {})",
                    printable(path_), printable(path_)));
  }
  try {
    guarded(fmt::format("open database '{}'", printable(path_)), [&] {
      int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_FULLMUTEX;
      if (mode == OpenMode::create_if_missing) flags |= SQLite::OPEN_CREATE;
      db_ = std::make_unique<SQLite::Database>(path_, flags, kBusyTimeoutMs);
      db().exec("PRAGMA journal_mode = WAL");
      db().exec("PRAGMA foreign_keys = ON");
      db().exec("PRAGMA synchronous = NORMAL");
      migrate();
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

void SqliteStore::migrate() {
  SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
  int version = db().execAndGet("PRAGMA user_version").getInt();
  int latest = 0;
  for (std::size_t i = 0; i < embedded_migrations_count; ++i) {
    const EmbeddedFile& migration = embedded_migrations[i];
    int number = migration_number(migration.name);
    latest = std::max(latest, number);
    if (number <= version) continue;
    db().exec(std::string(migration.content));
    db().exec(fmt::format("PRAGMA user_version = {}", number));
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

std::vector<std::string> SqliteStore::add_users(const std::vector<NewUser>& users,
                                                const std::string& action) {
  // Check everything before writing anything: an import is all or nothing.
  std::vector<std::vector<std::string>> clean_tags;
  std::vector<std::vector<std::string>> clean_vhosts;
  std::set<std::string> names;
  for (const NewUser& user : users) {
    check_user_name(user.name);
    if (!names.insert(user.name).second) {
      throw StoreError(fmt::format("user '{}' is given twice", printable(user.name)));
    }
    clean_tags.push_back(checked_tags(user.tags));
    clean_vhosts.push_back(checked_vhosts(user.vhosts));
  }
  std::vector<std::string> tokens;
  tokens.reserve(users.size());
  std::string what = users.size() == 1 ? fmt::format("add user '{}'", printable(users[0].name))
                                       : fmt::format("add {} users", users.size());
  guarded(what, [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement exists(db(), "SELECT 1 FROM users WHERE name = ?");
    SQLite::Statement insert(
        db(),
        "INSERT INTO users (name, email, tags, status, token_hash, created_at, "
        "updated_at, token_rotated_at) VALUES (?, ?, ?, 'active', ?, ?, ?, ?)");
    SQLite::Statement grant(db(), "INSERT INTO user_vhosts (user_id, vhost) VALUES (?, ?)");
    std::string t = now();
    for (std::size_t i = 0; i < users.size(); ++i) {
      const NewUser& user = users[i];
      exists.reset();
      exists.bind(1, user.name);
      if (exists.executeStep()) {
        throw StoreError(fmt::format("user '{}' already exists", printable(user.name)));
      }
      std::string token = generate_token();
      TokenHash hash = hash_token(token);
      insert.reset();
      insert.bind(1, user.name);
      insert.bind(2, user.email);
      insert.bind(3, join_words(clean_tags[i]));
      insert.bind(4, hash.data(), static_cast<int>(hash.size()));
      insert.bind(5, t);
      insert.bind(6, t);
      insert.bind(7, t);
      insert.exec();
      std::int64_t id = db().getLastInsertRowid();
      for (const std::string& vhost : clean_vhosts[i]) {
        grant.reset();
        grant.bind(1, id);
        grant.bind(2, vhost);
        grant.exec();
      }
      record_event(action, user.name,
                   fmt::format("email='{}' tags='{}' vhosts='{}'", user.email,
                               join_words(clean_tags[i]), join_words(clean_vhosts[i])));
      tokens.push_back(std::move(token));
    }
    txn.commit();
  });
  return tokens;
}

std::string SqliteStore::rotate_token(const std::string& name) {
  std::string token = generate_token();
  TokenHash hash = hash_token(token);
  guarded(fmt::format("rotate the token of '{}'", printable(name)), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    std::int64_t id = user_id(name);
    SQLite::Statement q(db(),
                        "UPDATE users SET token_hash = ?, token_rotated_at = ?, updated_at = ? "
                        "WHERE id = ?");
    std::string t = now();
    q.bind(1, hash.data(), static_cast<int>(hash.size()));
    q.bind(2, t);
    q.bind(3, t);
    q.bind(4, id);
    q.exec();
    record_event("user rotate", name, "new token issued; the old one no longer logs in");
    txn.commit();
  });
  return token;
}

void SqliteStore::set_active(const std::string& name, bool active) {
  guarded(fmt::format("change user '{}'", printable(name)), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    std::int64_t id = user_id(name);
    SQLite::Statement q(db(), "UPDATE users SET status = ?, updated_at = ? WHERE id = ?");
    q.bind(1, active ? "active" : "disabled");
    q.bind(2, now());
    q.bind(3, id);
    q.exec();
    record_event(active ? "user enable" : "user disable", name, "");
    txn.commit();
  });
}

void SqliteStore::delete_user(const std::string& name) {
  guarded(fmt::format("delete user '{}'", printable(name)), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    std::int64_t id = user_id(name);
    SQLite::Statement q(db(), "DELETE FROM users WHERE id = ?");
    q.bind(1, id);
    q.exec();
    record_event("user delete", name, "");
    txn.commit();
  });
}

void SqliteStore::update_user(const std::string& name, const UserUpdate& update) {
  std::optional<std::vector<std::string>> clean_tags;
  std::optional<std::vector<std::string>> clean_vhosts;
  if (update.tags) clean_tags = checked_tags(*update.tags);
  if (update.vhosts) clean_vhosts = checked_vhosts(*update.vhosts);
  check_queue_threshold_values(update);
  guarded(fmt::format("change user '{}'", printable(name)), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    std::int64_t id = user_id(name);
    std::string detail;
    if (update.email) {
      SQLite::Statement q(db(), "UPDATE users SET email = ? WHERE id = ?");
      q.bind(1, *update.email);
      q.bind(2, id);
      q.exec();
      detail += fmt::format("email='{}' ", *update.email);
    }
    if (clean_tags) {
      SQLite::Statement q(db(), "UPDATE users SET tags = ? WHERE id = ?");
      q.bind(1, join_words(*clean_tags));
      q.bind(2, id);
      q.exec();
      detail += fmt::format("tags='{}' ", join_words(*clean_tags));
    }
    if (clean_vhosts) {
      SQLite::Statement clear(db(), "DELETE FROM user_vhosts WHERE user_id = ?");
      clear.bind(1, id);
      clear.exec();
      for (const std::string& vhost : *clean_vhosts) {
        SQLite::Statement grant(db(), "INSERT INTO user_vhosts (user_id, vhost) VALUES (?, ?)");
        grant.bind(1, id);
        grant.bind(2, vhost);
        grant.exec();
      }
      detail += fmt::format("vhosts='{}' ", join_words(*clean_vhosts));
    }
    if (update.queue_warn || update.queue_delete) {
      // Checked against the thresholds as they will be, inside the
      // transaction: a concurrent change cannot slip between check and write.
      SQLite::Statement current(db(), "SELECT queue_warn, queue_delete FROM users WHERE id = ?");
      current.bind(1, id);
      current.executeStep();
      auto now_value = [&](int column) -> std::optional<std::int64_t> {
        if (current.getColumn(column).isNull()) return std::nullopt;
        return current.getColumn(column).getInt64();
      };
      std::optional<std::int64_t> warn = update.queue_warn ? *update.queue_warn : now_value(0);
      std::optional<std::int64_t> remove =
          update.queue_delete ? *update.queue_delete : now_value(1);
      current.reset();
      check_queue_thresholds(warn, remove);
      SQLite::Statement q(db(), "UPDATE users SET queue_warn = ?, queue_delete = ? WHERE id = ?");
      if (warn) q.bind(1, *warn);
      if (remove) q.bind(2, *remove);
      q.bind(3, id);
      q.exec();
      auto text = [](std::optional<std::int64_t> v) {
        return v ? std::to_string(*v) : std::string("default");
      };
      detail += fmt::format("queue_warn={} queue_delete={} ", text(warn), text(remove));
    }
    SQLite::Statement touch(db(), "UPDATE users SET updated_at = ? WHERE id = ?");
    touch.bind(1, now());
    touch.bind(2, id);
    touch.exec();
    if (!detail.empty()) detail.pop_back();
    record_event("user set", name, detail);
    txn.commit();
  });
}

namespace {

constexpr const char* kUserInfoQuery =
    "SELECT u.name, u.email, u.tags, u.status, u.created_at, u.updated_at, u.token_rotated_at, "
    "       (SELECT group_concat(vhost, char(10)) FROM "
    "          (SELECT vhost FROM user_vhosts v WHERE v.user_id = u.id ORDER BY vhost)), "
    "       u.queue_warn, u.queue_delete "
    "FROM users u ";

UserInfo user_info_from_row(SQLite::Statement& q) {
  UserInfo info;
  info.name = q.getColumn(0).getString();
  info.email = q.getColumn(1).getString();
  info.tags = split_words(q.getColumn(2).getString());
  info.active = q.getColumn(3).getString() == "active";
  info.created_at = q.getColumn(4).getString();
  info.updated_at = q.getColumn(5).getString();
  info.token_rotated_at = q.getColumn(6).getString();
  info.vhosts = split_words(q.getColumn(7).getString(), "\n");
  if (!q.getColumn(8).isNull()) info.queue_warn = q.getColumn(8).getInt64();
  if (!q.getColumn(9).isNull()) info.queue_delete = q.getColumn(9).getInt64();
  return info;
}

}  // namespace

std::optional<UserInfo> SqliteStore::find_user(const std::string& name) {
  return guarded(fmt::format("read user '{}'", printable(name)), [&]() -> std::optional<UserInfo> {
    SQLite::Statement q(db(), std::string(kUserInfoQuery) + "WHERE u.name = ?");
    q.bind(1, name);
    if (!q.executeStep()) return std::nullopt;
    return user_info_from_row(q);
  });
}

std::vector<UserInfo> SqliteStore::list_users() {
  return guarded("list users", [&] {
    SQLite::Statement q(db(), std::string(kUserInfoQuery) + "ORDER BY u.name");
    std::vector<UserInfo> users;
    while (q.executeStep()) users.push_back(user_info_from_row(q));
    return users;
  });
}

namespace {

constexpr const char* kUserRecordQuery =
    "SELECT u.id, u.name, u.token_hash, u.status, u.tags, v.vhost FROM users u "
    "LEFT JOIN user_vhosts v ON v.user_id = u.id ";

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
      SQLite::Column hash = q.getColumn(2);
      if (hash.getBytes() != static_cast<int>(user.token_hash.size())) {
        throw StoreError(fmt::format("user '{}' has a malformed token hash", printable(user.name)));
      }
      std::memcpy(user.token_hash.data(), hash.getBlob(), user.token_hash.size());
      user.active = q.getColumn(3).getString() == "active";
      user.tags = q.getColumn(4).getString();
      users.push_back(std::move(user));
    }
    if (!q.getColumn(5).isNull()) users.back().vhosts.push_back(q.getColumn(5).getString());
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
    SQLite::Statement events(db(), "SELECT id, user FROM audit_events WHERE id > ? ORDER BY id");
    events.bind(1, after);
    std::set<std::string> names;
    std::int64_t last = after;
    while (events.executeStep()) {
      last = events.getColumn(0).getInt64();
      names.insert(events.getColumn(1).getString());
      if (names.size() > limit) return std::nullopt;
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
