// The web's part of the Store: sign-ins under way, sessions and personal
// API keys (schema/005_web.sql).
#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include "authsvc/core/token.h"
#include "authsvc/store/sqlite_store.h"
#include "authsvc/store/validation.h"

namespace authsvc {
namespace {

// An API key is a token with a prefix, so that a secret scanner, or a
// person, tells it from an account's token at a glance.
constexpr std::string_view kApiKeyPrefix = "ak_";

void bind_hash(SQLite::Statement& q, int index, const TokenHash& hash) {
  q.bind(index, hash.data(), static_cast<int>(hash.size()));
}

TokenHash hash_column(const SQLite::Column& column) {
  TokenHash hash{};
  if (column.getBytes() != static_cast<int>(hash.size())) {
    throw StoreError("a stored hash has the wrong length");
  }
  const auto* bytes = static_cast<const std::uint8_t*>(column.getBlob());
  std::copy(bytes, bytes + hash.size(), hash.begin());
  return hash;
}

std::string text_or_empty(const SQLite::Column& column) {
  return column.isNull() ? std::string() : column.getString();
}

constexpr const char* kApiKeyColumns =
    "id, address, label, created_at, expires_at, revoked_at, last_used_at";

ApiKeyInfo api_key_from_row(SQLite::Statement& q) {
  return ApiKeyInfo{q.getColumn(0).getInt64(),     q.getColumn(1).getString(),
                    q.getColumn(2).getString(),    q.getColumn(3).getString(),
                    text_or_empty(q.getColumn(4)), text_or_empty(q.getColumn(5)),
                    text_or_empty(q.getColumn(6))};
}

}  // namespace

void SqliteStore::set_actor(Actor actor) { actor_ = std::move(actor); }

void SqliteStore::limit_changes_to_owner(std::string address) { owner_limit_ = std::move(address); }

void SqliteStore::put_sign_in(const WebSignIn& sign_in) {
  guarded("record a sign-in", [&] {
    SQLite::Statement q(db(),
                        "INSERT INTO web_sign_ins (state_hash, browser_hash, next, created_at) "
                        "VALUES (?, ?, ?, ?)");
    bind_hash(q, 1, sign_in.state_hash);
    bind_hash(q, 2, sign_in.browser_hash);
    q.bind(3, sign_in.next);
    q.bind(4, sign_in.created_at);
    q.exec();
  });
}

std::optional<WebSignIn> SqliteStore::take_sign_in(const TokenHash& state_hash) {
  return guarded("finish a sign-in", [&]() -> std::optional<WebSignIn> {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement q(db(),
                        "DELETE FROM web_sign_ins WHERE state_hash = ? "
                        "RETURNING browser_hash, next, created_at");
    bind_hash(q, 1, state_hash);
    if (!q.executeStep()) return std::nullopt;
    WebSignIn sign_in{state_hash, hash_column(q.getColumn(0)), q.getColumn(1).getString(),
                      q.getColumn(2).getString()};
    while (q.executeStep()) {
    }
    txn.commit();
    return sign_in;
  });
}

void SqliteStore::put_session(const WebSession& session) {
  guarded("record a session", [&] {
    SQLite::Statement q(db(),
                        "INSERT INTO web_sessions (id_hash, address, created_at, last_seen_at) "
                        "VALUES (?, ?, ?, ?)");
    bind_hash(q, 1, session.id_hash);
    q.bind(2, session.address);
    q.bind(3, session.created_at);
    q.bind(4, session.last_seen_at);
    q.exec();
  });
}

std::optional<WebSession> SqliteStore::find_session(const TokenHash& id_hash) {
  return guarded("read a session", [&]() -> std::optional<WebSession> {
    SQLite::Statement q(db(),
                        "SELECT address, created_at, last_seen_at FROM web_sessions "
                        "WHERE id_hash = ?");
    bind_hash(q, 1, id_hash);
    if (!q.executeStep()) return std::nullopt;
    return WebSession{id_hash, q.getColumn(0).getString(), q.getColumn(1).getString(),
                      q.getColumn(2).getString()};
  });
}

void SqliteStore::touch_session(const TokenHash& id_hash, const std::string& last_seen_at) {
  guarded("record a session's use", [&] {
    SQLite::Statement q(db(), "UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?");
    q.bind(1, last_seen_at);
    bind_hash(q, 2, id_hash);
    q.exec();
  });
}

void SqliteStore::end_session(const TokenHash& id_hash) {
  guarded("end a session", [&] {
    SQLite::Statement q(db(), "DELETE FROM web_sessions WHERE id_hash = ?");
    bind_hash(q, 1, id_hash);
    q.exec();
  });
}

std::size_t SqliteStore::purge_web_state(const std::string& sign_ins_before,
                                         const std::string& idle_before,
                                         const std::string& created_before) {
  return guarded("remove old sign-ins and sessions", [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement sign_ins(db(), "DELETE FROM web_sign_ins WHERE created_at < ?");
    sign_ins.bind(1, sign_ins_before);
    std::size_t removed = static_cast<std::size_t>(sign_ins.exec());
    SQLite::Statement sessions(db(),
                               "DELETE FROM web_sessions WHERE last_seen_at < ? OR created_at < ?");
    sessions.bind(1, idle_before);
    sessions.bind(2, created_before);
    removed += static_cast<std::size_t>(sessions.exec());
    txn.commit();
    return removed;
  });
}

NewApiKey SqliteStore::add_api_key(const std::string& address, const std::string& label,
                                   const std::string& expires_at) {
  check_owner_address(address);
  check_api_key_label(label);
  const std::string created_at = now();
  check_expiry(expires_at, created_at);
  return guarded("create an API key", [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    NewApiKey created;
    created.key = std::string(kApiKeyPrefix) + generate_token();
    SQLite::Statement q(db(),
                        "INSERT INTO api_keys (address, label, hash, created_at, expires_at) "
                        "VALUES (?, ?, ?, ?, ?)");
    q.bind(1, address);
    q.bind(2, label);
    bind_hash(q, 3, hash_token(created.key));
    q.bind(4, created_at);
    if (expires_at.empty()) {
      q.bind(5);
    } else {
      q.bind(5, expires_at);
    }
    q.exec();
    created.info =
        ApiKeyInfo{db().getLastInsertRowid(), address, label, created_at, expires_at, "", ""};
    record_event("apikey create", "",
                 fmt::format("key {} of {}{}", created.info.id, address,
                             expires_at.empty() ? "" : ", expires " + expires_at));
    txn.commit();
    return created;
  });
}

std::vector<ApiKeyInfo> SqliteStore::api_keys_of(const std::string& address) {
  return guarded("list API keys", [&] {
    SQLite::Statement q(db(), fmt::format("SELECT {} FROM api_keys WHERE address = ? "
                                          "ORDER BY id DESC",
                                          kApiKeyColumns));
    q.bind(1, address);
    std::vector<ApiKeyInfo> keys;
    while (q.executeStep()) keys.push_back(api_key_from_row(q));
    return keys;
  });
}

std::optional<ApiKeyInfo> SqliteStore::find_api_key(const TokenHash& hash) {
  return guarded("read an API key", [&]() -> std::optional<ApiKeyInfo> {
    SQLite::Statement q(db(),
                        fmt::format("SELECT {} FROM api_keys WHERE hash = ?", kApiKeyColumns));
    bind_hash(q, 1, hash);
    if (!q.executeStep()) return std::nullopt;
    return api_key_from_row(q);
  });
}

bool SqliteStore::revoke_api_key(std::int64_t id, const std::string& address) {
  return guarded("revoke an API key", [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement q(db(),
                        "UPDATE api_keys SET revoked_at = ? "
                        "WHERE id = ? AND address = ? AND revoked_at IS NULL");
    q.bind(1, now());
    q.bind(2, id);
    q.bind(3, address);
    if (q.exec() == 0) return false;
    record_event("apikey revoke", "", fmt::format("key {} of {}", id, address));
    txn.commit();
    return true;
  });
}

void SqliteStore::touch_api_key(std::int64_t id, const std::string& at) {
  guarded("record an API key's use", [&] {
    SQLite::Statement q(db(), "UPDATE api_keys SET last_used_at = ? WHERE id = ?");
    q.bind(1, at);
    q.bind(2, id);
    q.exec();
  });
}

WebAccessEnded SqliteStore::end_web_access(const std::string& address) {
  check_owner_address(address);
  return guarded("end a person's web access", [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    WebAccessEnded ended;
    SQLite::Statement sessions(db(), "DELETE FROM web_sessions WHERE address = ?");
    sessions.bind(1, address);
    ended.sessions = static_cast<std::size_t>(sessions.exec());
    SQLite::Statement keys(db(),
                           "UPDATE api_keys SET revoked_at = ? "
                           "WHERE address = ? AND revoked_at IS NULL");
    keys.bind(1, now());
    keys.bind(2, address);
    ended.api_keys = static_cast<std::size_t>(keys.exec());
    record_event("web revoke", "",
                 fmt::format("{}: {} sessions ended, {} API keys revoked", address, ended.sessions,
                             ended.api_keys));
    txn.commit();
    return ended;
  });
}

std::size_t SqliteStore::accounts_created_by(const std::string& address) {
  return guarded("count a person's accounts", [&] {
    // audit_events_by_user finds each account's events by its name.
    SQLite::Statement q(db(),
                        "SELECT COUNT(*) FROM users u WHERE EXISTS ("
                        "SELECT 1 FROM audit_events e WHERE e.user = u.name "
                        "AND e.action = 'user add' AND e.actor = 'web' "
                        "AND e.operator = ? COLLATE NOCASE "
                        "AND e.id > (SELECT COALESCE(MAX(d.id), 0) FROM audit_events d "
                        "WHERE d.user = u.name AND d.action = 'user delete'))");
    q.bind(1, address);
    q.executeStep();
    return static_cast<std::size_t>(q.getColumn(0).getInt64());
  });
}

}  // namespace authsvc
