// The web's part of the Store: sign-ins under way, sessions and personal
// API keys (schema/005_web.sql).
#include <fmt/format.h>

#include "authsvc/core/token.h"
#include "authsvc/store/sql_store.h"
#include "authsvc/store/validation.h"

namespace authsvc {
namespace {

// An API key is a token with a prefix, so that a secret scanner, or a
// person, tells it from an account's token at a glance.
constexpr std::string_view kApiKeyPrefix = "ak_";

SqlParam hash_param(const TokenHash& hash) { return SqlParam::bytes(hash); }

TokenHash hash_column(const SqlRow& row, int column) {
  TokenHash hash{};
  std::vector<std::uint8_t> bytes = row.bytes(column);
  if (bytes.size() != hash.size()) throw StoreError("a stored hash has the wrong length");
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

constexpr const char* kApiKeyColumns =
    "id, address, label, created_at, expires_at, revoked_at, last_used_at";

ApiKeyInfo api_key_from_row(const SqlRow& row) {
  return ApiKeyInfo{row.int64(0),         row.text(1),          row.text(2),         row.text(3),
                    row.text_or_empty(4), row.text_or_empty(5), row.text_or_empty(6)};
}

}  // namespace

void SqlStore::set_actor(Actor actor) { actor_ = std::move(actor); }

void SqlStore::limit_changes_to_owner(std::string address) { owner_limit_ = std::move(address); }

void SqlStore::put_sign_in(const WebSignIn& sign_in) {
  guarded("record a sign-in", [&] {
    db().exec(
        "INSERT INTO web_sign_ins (state_hash, browser_hash, next, created_at) "
        "VALUES (?, ?, ?, ?)",
        {hash_param(sign_in.state_hash), hash_param(sign_in.browser_hash), sign_in.next,
         sign_in.created_at});
  });
}

std::optional<WebSignIn> SqlStore::take_sign_in(const TokenHash& state_hash) {
  return guarded("finish a sign-in", [&]() -> std::optional<WebSignIn> {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    std::optional<WebSignIn> sign_in;
    db().query(
        "DELETE FROM web_sign_ins WHERE state_hash = ? RETURNING browser_hash, next, created_at",
        {hash_param(state_hash)}, [&](const SqlRow& row) {
          sign_in = WebSignIn{state_hash, hash_column(row, 0), row.text(1), row.text(2)};
        });
    if (!sign_in) return std::nullopt;
    txn.commit();
    return sign_in;
  });
}

void SqlStore::put_session(const WebSession& session) {
  guarded("record a session", [&] {
    db().exec(
        "INSERT INTO web_sessions (id_hash, address, created_at, last_seen_at) "
        "VALUES (?, ?, ?, ?)",
        {hash_param(session.id_hash), session.address, session.created_at, session.last_seen_at});
  });
}

std::optional<WebSession> SqlStore::find_session(const TokenHash& id_hash) {
  return guarded("read a session", [&]() -> std::optional<WebSession> {
    std::optional<WebSession> session;
    db().query_first("SELECT address, created_at, last_seen_at FROM web_sessions WHERE id_hash = ?",
                     {hash_param(id_hash)}, [&](const SqlRow& row) {
                       session = WebSession{id_hash, row.text(0), row.text(1), row.text(2)};
                     });
    return session;
  });
}

void SqlStore::touch_session(const TokenHash& id_hash, const std::string& last_seen_at) {
  guarded("record a session's use", [&] {
    db().exec("UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?",
              {last_seen_at, hash_param(id_hash)});
  });
}

void SqlStore::end_session(const TokenHash& id_hash) {
  guarded("end a session",
          [&] { db().exec("DELETE FROM web_sessions WHERE id_hash = ?", {hash_param(id_hash)}); });
}

std::size_t SqlStore::purge_web_state(const std::string& sign_ins_before,
                                      const std::string& idle_before,
                                      const std::string& created_before) {
  return guarded("remove old sign-ins and sessions", [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    auto removed = static_cast<std::size_t>(
        db().exec("DELETE FROM web_sign_ins WHERE created_at < ?", {sign_ins_before}));
    removed += static_cast<std::size_t>(
        db().exec("DELETE FROM web_sessions WHERE last_seen_at < ? OR created_at < ?",
                  {idle_before, created_before}));
    txn.commit();
    return removed;
  });
}

NewApiKey SqlStore::add_api_key(const std::string& address, const std::string& label,
                                const std::string& expires_at) {
  check_owner_address(address);
  check_api_key_label(label);
  const std::string created_at = now();
  check_expiry(expires_at, created_at);
  return guarded("create an API key", [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    NewApiKey created;
    created.key = std::string(kApiKeyPrefix) + generate_token();
    std::optional<std::int64_t> id = db().query_int64(
        "INSERT INTO api_keys (address, label, hash, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id",
        {address, label, hash_param(hash_token(created.key)), created_at,
         SqlParam::text_or_null(expires_at)});
    if (!id) throw StoreError("the API key was not added");
    created.info = ApiKeyInfo{*id, address, label, created_at, expires_at, "", ""};
    record_event("apikey create", "",
                 fmt::format("key {} of {}{}", created.info.id, address,
                             expires_at.empty() ? "" : ", expires " + expires_at));
    txn.commit();
    return created;
  });
}

std::vector<ApiKeyInfo> SqlStore::api_keys_of(const std::string& address) {
  return guarded("list API keys", [&] {
    std::vector<ApiKeyInfo> keys;
    db().query(
        fmt::format("SELECT {} FROM api_keys WHERE address = ? ORDER BY id DESC", kApiKeyColumns),
        {address}, [&](const SqlRow& row) { keys.push_back(api_key_from_row(row)); });
    return keys;
  });
}

std::optional<ApiKeyInfo> SqlStore::find_api_key(const TokenHash& hash) {
  return guarded("read an API key", [&]() -> std::optional<ApiKeyInfo> {
    std::optional<ApiKeyInfo> key;
    db().query_first(fmt::format("SELECT {} FROM api_keys WHERE hash = ?", kApiKeyColumns),
                     {hash_param(hash)}, [&](const SqlRow& row) { key = api_key_from_row(row); });
    return key;
  });
}

bool SqlStore::revoke_api_key(std::int64_t id, const std::string& address) {
  return guarded("revoke an API key", [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    if (db().exec("UPDATE api_keys SET revoked_at = ? "
                  "WHERE id = ? AND address = ? AND revoked_at IS NULL",
                  {now(), id, address}) == 0) {
      return false;
    }
    record_event("apikey revoke", "", fmt::format("key {} of {}", id, address));
    txn.commit();
    return true;
  });
}

void SqlStore::touch_api_key(std::int64_t id, const std::string& at) {
  guarded("record an API key's use", [&] {
    db().exec("UPDATE api_keys SET last_used_at = ? WHERE id = ?", {at, id});
  });
}

WebAccessEnded SqlStore::end_web_access(const std::string& address) {
  check_owner_address(address);
  return guarded("end a person's web access", [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    WebAccessEnded ended;
    ended.sessions = static_cast<std::size_t>(
        db().exec("DELETE FROM web_sessions WHERE address = ?", {address}));
    ended.api_keys = static_cast<std::size_t>(
        db().exec("UPDATE api_keys SET revoked_at = ? WHERE address = ? AND revoked_at IS NULL",
                  {now(), address}));
    record_event("web revoke", "",
                 fmt::format("{}: {} sessions ended, {} API keys revoked", address, ended.sessions,
                             ended.api_keys));
    txn.commit();
    return ended;
  });
}

std::size_t SqlStore::accounts_created_by(const std::string& address) {
  return guarded("count a person's accounts", [&] {
    // audit_events_by_user finds each account's events by its name.
    return static_cast<std::size_t>(
        db().query_int64("SELECT COUNT(*) FROM users u WHERE EXISTS ("
                         "SELECT 1 FROM audit_events e WHERE e.\"user\" = u.name "
                         "AND e.action = 'user add' AND e.actor = 'web' "
                         "AND e.operator COLLATE NOCASE = ? "
                         "AND e.id > (SELECT COALESCE(MAX(d.id), 0) FROM audit_events d "
                         "WHERE d.\"user\" = u.name AND d.action = 'user delete'))",
                         {address})
            .value_or(0));
  });
}

}  // namespace authsvc
