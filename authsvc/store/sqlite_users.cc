// The users' part of the Store: accounts, their owners, their credentials
// (schema/001_users.sql, 004_accounts.sql).
#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <set>

#include "authsvc/core/duration.h"
#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/token.h"
#include "authsvc/core/words.h"
#include "authsvc/store/sqlite_store.h"
#include "authsvc/store/validation.h"

namespace authsvc {
namespace {

void bind_credential(SQLite::Statement& q, int first, const Credential& credential) {
  q.bind(first, std::string(to_string(credential.scheme)));
  q.bind(first + 1, credential.hash.data(), static_cast<int>(credential.hash.size()));
}

std::string expiry_text(const std::string& expires_at) {
  return expires_at.empty() ? "never" : expires_at;
}

}  // namespace

void SqliteStore::insert_user(const std::string& name, const std::vector<std::string>& tags,
                              const std::vector<std::string>& vhosts, const std::string& expires_at,
                              const Credential& credential, const std::string& created_at,
                              const std::string& issued_at) {
  SQLite::Statement exists(db(), "SELECT 1 FROM users WHERE name = ?");
  exists.bind(1, name);
  if (exists.executeStep()) {
    throw StoreError(fmt::format("user '{}' already exists", printable(name)));
  }
  const std::string& t = created_at;
  SQLite::Statement insert(db(),
                           "INSERT INTO users (name, tags, status, created_at, updated_at, "
                           "expires_at) VALUES (?, ?, 'active', ?, ?, ?)");
  insert.bind(1, name);
  insert.bind(2, join_words(tags));
  insert.bind(3, t);
  insert.bind(4, t);
  if (!expires_at.empty()) insert.bind(5, expires_at);
  insert.exec();
  std::int64_t id = db().getLastInsertRowid();
  SQLite::Statement current(db(),
                            "INSERT INTO credentials (user_id, slot, scheme, hash, issued_at) "
                            "VALUES (?, 'current', ?, ?, ?)");
  current.bind(1, id);
  bind_credential(current, 2, credential);
  if (!issued_at.empty()) current.bind(4, issued_at);
  current.exec();
  SQLite::Statement grant(db(), "INSERT INTO user_vhosts (user_id, vhost) VALUES (?, ?)");
  for (const std::string& vhost : vhosts) {
    grant.reset();
    grant.bind(1, id);
    grant.bind(2, vhost);
    grant.exec();
  }
}

bool SqliteStore::insert_owner(std::int64_t user_id, const std::string& address) {
  SQLite::Statement q(db(),
                      "INSERT OR IGNORE INTO user_owners (user_id, address, added_at) "
                      "VALUES (?, ?, ?)");
  q.bind(1, user_id);
  q.bind(2, address);
  q.bind(3, now());
  return q.exec() > 0;
}

std::vector<std::string> SqliteStore::add_users(const std::vector<NewUser>& users,
                                                const std::string& action) {
  // Check everything before writing anything: an import is all or nothing.
  struct Clean {
    std::vector<std::string> owners, tags, vhosts;
  };
  std::vector<Clean> clean;
  std::set<std::string> names;
  std::string t = now();
  for (const NewUser& user : users) {
    check_user_name(user.name);
    if (!names.insert(user.name).second) {
      throw StoreError(fmt::format("user '{}' is given twice", printable(user.name)));
    }
    check_expiry(user.expires_at, t);
    clean.push_back(
        Clean{checked_owners(user.owners), checked_tags(user.tags), checked_vhosts(user.vhosts)});
  }
  std::vector<std::string> tokens;
  tokens.reserve(users.size());
  std::string what = users.size() == 1 ? fmt::format("add user '{}'", printable(users[0].name))
                                       : fmt::format("add {} users", users.size());
  guarded(what, [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    for (std::size_t i = 0; i < users.size(); ++i) {
      const NewUser& user = users[i];
      std::string token = generate_token();
      insert_user(user.name, clean[i].tags, clean[i].vhosts, user.expires_at,
                  token_credential(token), t, t);
      std::int64_t id = db().getLastInsertRowid();
      for (const std::string& owner : clean[i].owners) insert_owner(id, owner);
      record_event(action, user.name,
                   fmt::format("owners='{}' tags='{}' vhosts='{}' expires={}",
                               join_words(clean[i].owners), join_words(clean[i].tags),
                               join_words(clean[i].vhosts), expiry_text(user.expires_at)));
      tokens.push_back(std::move(token));
    }
    txn.commit();
  });
  return tokens;
}

void SqliteStore::import_users(const std::vector<ImportedUser>& users) {
  std::vector<std::vector<std::string>> clean_tags;
  std::vector<std::vector<std::string>> clean_vhosts;
  std::set<std::string> names;
  for (const ImportedUser& user : users) {
    check_user_name(user.name);
    if (!names.insert(user.name).second) {
      throw StoreError(fmt::format("user '{}' is given twice", printable(user.name)));
    }
    if (!user.credential.legacy() ||
        user.credential.hash.size() != stored_hash_size(user.credential.scheme)) {
      throw StoreError(
          fmt::format("user '{}': an imported credential is a RabbitMQ password hash of its size",
                      printable(user.name)));
    }
    clean_tags.push_back(checked_tags(user.tags));
    clean_vhosts.push_back(checked_vhosts(user.vhosts));
  }
  guarded(fmt::format("import {} users", users.size()), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    for (std::size_t i = 0; i < users.size(); ++i) {
      const ImportedUser& user = users[i];
      // No issue time: the password is older than authsvc's knowledge of
      // it, so no connection is too old for it (the guardian's rule).
      insert_user(user.name, clean_tags[i], clean_vhosts[i], "", user.credential, now(), "");
      record_event("import definitions", user.name,
                   fmt::format("credential={} tags='{}' vhosts='{}' owners=none",
                               to_string(user.credential.scheme), join_words(clean_tags[i]),
                               join_words(clean_vhosts[i])));
    }
    txn.commit();
  });
}

std::string SqliteStore::rotate_token(const std::string& name, std::chrono::seconds grace,
                                      const std::optional<std::string>& replacing) {
  check_rotation_grace(grace);
  std::string token = generate_token();
  Credential fresh = token_credential(token);
  guarded(fmt::format("rotate the token of '{}'", printable(name)), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    std::int64_t id = owned_user_id(name);
    if (replacing) {
      SQLite::Statement current(db(),
                                "SELECT COALESCE(issued_at, '') FROM credentials "
                                "WHERE user_id = ? AND slot = 'current'");
      current.bind(1, id);
      if (!current.executeStep() || current.getColumn(0).getString() != *replacing) {
        throw StoreError(fmt::format("the credential of '{}' was replaced already: nothing changed",
                                     printable(name)));
      }
    }
    auto now_point = std::chrono::system_clock::now();
    std::string t = rfc3339_utc(now_point);
    // A previous credential still in its grace ends now: with the new one
    // and the one it replaces, never more than two are valid.
    SQLite::Statement cut(db(),
                          "DELETE FROM credentials WHERE user_id = ? AND slot = 'previous' "
                          "AND valid_until > ?");
    cut.bind(1, id);
    cut.bind(2, t);
    bool cut_grace = cut.exec() > 0;
    SQLite::Statement drop(db(), "DELETE FROM credentials WHERE user_id = ? AND slot = 'previous'");
    drop.bind(1, id);
    drop.exec();
    std::string until;
    if (grace > std::chrono::seconds(0)) {
      until = rfc3339_utc(now_point + grace);
      SQLite::Statement keep(db(),
                             "UPDATE credentials SET slot = 'previous', valid_until = ? "
                             "WHERE user_id = ? AND slot = 'current'");
      keep.bind(1, until);
      keep.bind(2, id);
      keep.exec();
    } else {
      SQLite::Statement old(db(), "DELETE FROM credentials WHERE user_id = ? AND slot = 'current'");
      old.bind(1, id);
      old.exec();
    }
    SQLite::Statement insert(db(),
                             "INSERT INTO credentials (user_id, slot, scheme, hash, issued_at) "
                             "VALUES (?, 'current', ?, ?, ?)");
    insert.bind(1, id);
    bind_credential(insert, 2, fresh);
    insert.bind(4, t);
    insert.exec();
    SQLite::Statement touch(db(), "UPDATE users SET updated_at = ? WHERE id = ?");
    touch.bind(1, t);
    touch.bind(2, id);
    touch.exec();
    std::string detail = until.empty()
                             ? "new token issued; the previous credential no longer logs in"
                             : fmt::format(
                                   "new token issued; the previous credential logs in until {} "
                                   "(grace {})",
                                   until, format_duration(grace));
    if (cut_grace) detail += "; the grace of the credential before it ended now";
    record_event("user rotate", name, detail);
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
    std::int64_t id = owned_user_id(name);
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
  if (update.expires_at) check_expiry(*update.expires_at, now());
  guarded(fmt::format("change user '{}'", printable(name)), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    std::int64_t id = owned_user_id(name);
    std::string detail;
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
    if (update.expires_at) {
      // A new expiry starts its notices over; the same one keeps them.
      SQLite::Statement q(db(),
                          "UPDATE users SET expiry_notice_lead = CASE WHEN expires_at IS ? "
                          "THEN expiry_notice_lead END, expires_at = ? WHERE id = ?");
      if (!update.expires_at->empty()) {
        q.bind(1, *update.expires_at);
        q.bind(2, *update.expires_at);
      }
      q.bind(3, id);
      q.exec();
      detail += fmt::format("expires={} ", expiry_text(*update.expires_at));
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

void SqliteStore::add_owner(const std::string& name, const std::string& address) {
  check_owner_address(address);
  guarded(fmt::format("add an owner to '{}'", printable(name)), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    std::int64_t id = owned_user_id(name);
    if (insert_owner(id, address)) {
      record_event("user owner add", name, fmt::format("owner='{}'", address));
      txn.commit();
    }
  });
}

void SqliteStore::remove_owner(const std::string& name, const std::string& address) {
  guarded(fmt::format("remove an owner of '{}'", printable(name)), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    std::int64_t id = owned_user_id(name);
    SQLite::Statement owners(db(), "SELECT address FROM user_owners WHERE user_id = ?");
    owners.bind(1, id);
    std::vector<std::string> current;
    std::string found;
    while (owners.executeStep()) {
      current.push_back(owners.getColumn(0).getString());
      if (ascii_lower(current.back()) == ascii_lower(address)) found = current.back();
    }
    if (found.empty()) {
      throw StoreError(
          fmt::format("'{}' is not an owner of '{}'", printable(address), printable(name)));
    }
    if (current.size() == 1) {
      throw StoreError(fmt::format(
          "'{}' is the last owner of '{}': add another owner first, or delete the account",
          printable(found), printable(name)));
    }
    SQLite::Statement q(db(), "DELETE FROM user_owners WHERE user_id = ? AND address = ?");
    q.bind(1, id);
    q.bind(2, found);
    q.exec();
    record_event("user owner remove", name, fmt::format("owner='{}'", found));
    txn.commit();
  });
}

void SqliteStore::add_owners(const std::vector<OwnerGrant>& grants) {
  for (const OwnerGrant& grant : grants) check_owner_address(grant.address);
  guarded(fmt::format("add {} owners", grants.size()), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    for (const OwnerGrant& grant : grants) {
      if (insert_owner(user_id(grant.user), grant.address)) {
        record_event("import owners", grant.user, fmt::format("owner='{}'", grant.address));
      }
    }
    txn.commit();
  });
}

namespace {

constexpr const char* kUserInfoQuery =
    "SELECT u.name, u.tags, u.status, u.created_at, u.updated_at, "
    "       (SELECT group_concat(vhost, char(10)) FROM "
    "          (SELECT vhost FROM user_vhosts v WHERE v.user_id = u.id ORDER BY vhost)), "
    "       u.queue_warn, u.queue_delete, "
    "       (SELECT group_concat(address, char(10)) FROM "
    "          (SELECT address FROM user_owners o WHERE o.user_id = u.id ORDER BY address)), "
    "       c.scheme, c.issued_at, p.valid_until, p.issued_at, u.expires_at, "
    "       u.expiry_notice_lead "
    "FROM users u "
    "JOIN credentials c ON c.user_id = u.id AND c.slot = 'current' "
    "LEFT JOIN credentials p ON p.user_id = u.id AND p.slot = 'previous' ";

std::string text_or_empty(const SQLite::Column& column) {
  return column.isNull() ? std::string() : column.getString();
}

UserInfo user_info_from_row(SQLite::Statement& q) {
  UserInfo info;
  info.name = q.getColumn(0).getString();
  info.tags = split_words(q.getColumn(1).getString());
  info.active = q.getColumn(2).getString() == "active";
  info.created_at = q.getColumn(3).getString();
  info.updated_at = q.getColumn(4).getString();
  info.vhosts = split_words(text_or_empty(q.getColumn(5)), "\n");
  if (!q.getColumn(6).isNull()) info.queue_warn = q.getColumn(6).getInt64();
  if (!q.getColumn(7).isNull()) info.queue_delete = q.getColumn(7).getInt64();
  info.owners = split_words(text_or_empty(q.getColumn(8)), "\n");
  std::optional<CredentialScheme> scheme =
      credential_scheme_from_string(q.getColumn(9).getString());
  if (!scheme) {
    throw StoreError(fmt::format("user '{}' has a malformed credential", printable(info.name)));
  }
  info.credential = *scheme;
  info.credential_issued_at = text_or_empty(q.getColumn(10));
  info.previous_valid_until = text_or_empty(q.getColumn(11));
  info.previous_issued_at = text_or_empty(q.getColumn(12));
  info.expires_at = text_or_empty(q.getColumn(13));
  if (!q.getColumn(14).isNull()) info.expiry_notice_lead = q.getColumn(14).getInt64();
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

std::vector<UserInfo> SqliteStore::users_owned_by(const std::string& address) {
  return guarded("list users by owner", [&] {
    SQLite::Statement q(db(), std::string(kUserInfoQuery) +
                                  "WHERE u.id IN (SELECT user_id FROM user_owners "
                                  "WHERE address = ?) ORDER BY u.name");
    q.bind(1, address);
    std::vector<UserInfo> users;
    while (q.executeStep()) users.push_back(user_info_from_row(q));
    return users;
  });
}

bool SqliteStore::record_expiry_notice(const std::string& user, const std::string& expires_at,
                                       std::int64_t lead, const std::vector<OutboxMail>& mails) {
  return guarded(fmt::format("record the expiry notice of '{}'", printable(user)), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement q(db(),
                        "SELECT id, expires_at, expiry_notice_lead FROM users WHERE name = ?");
    q.bind(1, user);
    if (!q.executeStep() || text_or_empty(q.getColumn(1)) != expires_at || expires_at.empty()) {
      return false;  // gone, or renewed since the guardian looked
    }
    if (!q.getColumn(2).isNull() && q.getColumn(2).getInt64() <= lead) return false;
    std::int64_t id = q.getColumn(0).getInt64();
    q.reset();
    SQLite::Statement mark(db(), "UPDATE users SET expiry_notice_lead = ? WHERE id = ?");
    mark.bind(1, lead);
    mark.bind(2, id);
    mark.exec();
    put_outbox(mails);
    txn.commit();
    return true;
  });
}

}  // namespace authsvc
