// The users' part of the Store: accounts, their owners, their credentials
// (schema/001_users.sql, 004_accounts.sql).
#include <fmt/format.h>

#include <set>

#include "authsvc/core/duration.h"
#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/token.h"
#include "authsvc/core/words.h"
#include "authsvc/store/sql_store.h"
#include "authsvc/store/validation.h"

namespace authsvc {
namespace {

SqlParam scheme_param(const Credential& credential) {
  return SqlParam(std::string(to_string(credential.scheme)));
}

std::string expiry_text(const std::string& expires_at) {
  return expires_at.empty() ? "never" : expires_at;
}

}  // namespace

std::int64_t SqlStore::insert_user(const std::string& name, const std::vector<std::string>& tags,
                                   const std::vector<std::string>& vhosts,
                                   const std::string& expires_at, const Credential& credential,
                                   const std::string& created_at, const std::string& issued_at) {
  if (db().query_int64("SELECT 1 FROM users WHERE name = ?", {name})) {
    throw StoreError(fmt::format("user '{}' already exists", printable(name)));
  }
  const std::string& t = created_at;
  std::optional<std::int64_t> id = db().query_int64(
      "INSERT INTO users (name, tags, status, created_at, updated_at, expires_at) "
      "VALUES (?, ?, 'active', ?, ?, ?) RETURNING id",
      {name, join_words(tags), t, t, SqlParam::text_or_null(expires_at)});
  if (!id) throw StoreError(fmt::format("user '{}' was not added", printable(name)));
  db().exec(
      "INSERT INTO credentials (user_id, slot, scheme, hash, issued_at) "
      "VALUES (?, 'current', ?, ?, ?)",
      {*id, scheme_param(credential), SqlParam::bytes(credential.hash),
       SqlParam::text_or_null(issued_at)});
  for (const std::string& vhost : vhosts) {
    db().exec("INSERT INTO user_vhosts (user_id, vhost) VALUES (?, ?)", {*id, vhost});
  }
  return *id;
}

bool SqlStore::insert_owner(std::int64_t user_id, const std::string& address) {
  return db().exec(
             "INSERT INTO user_owners (user_id, address, added_at) VALUES (?, ?, ?) "
             "ON CONFLICT DO NOTHING",
             {user_id, address, now()}) > 0;
}

std::vector<std::string> SqlStore::add_users(const std::vector<NewUser>& users,
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
    SqlTransaction txn(db(), SqlTransactionKind::write);
    for (std::size_t i = 0; i < users.size(); ++i) {
      const NewUser& user = users[i];
      std::string token = generate_token();
      std::int64_t id = insert_user(user.name, clean[i].tags, clean[i].vhosts, user.expires_at,
                                    token_credential(token), t, t);
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

void SqlStore::import_users(const std::vector<ImportedUser>& users) {
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
    SqlTransaction txn(db(), SqlTransactionKind::write);
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

std::string SqlStore::rotate_token(const std::string& name, std::chrono::seconds grace,
                                   const std::optional<std::string>& replacing) {
  check_rotation_grace(grace);
  std::string token = generate_token();
  Credential fresh = token_credential(token);
  guarded(fmt::format("rotate the token of '{}'", printable(name)), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    std::int64_t id = owned_user_id(name);
    if (replacing) {
      std::optional<std::string> issued;
      db().query_first(
          "SELECT COALESCE(issued_at, '') FROM credentials WHERE user_id = ? AND slot = 'current'",
          {id}, [&](const SqlRow& row) { issued = row.text(0); });
      if (issued != *replacing) {
        throw StoreError(fmt::format("the credential of '{}' was replaced already: nothing changed",
                                     printable(name)));
      }
    }
    auto now_point = std::chrono::system_clock::now();
    std::string t = rfc3339_utc(now_point);
    // A previous credential still in its grace ends now: with the new one
    // and the one it replaces, never more than two are valid.
    bool cut_grace = db().exec(
                         "DELETE FROM credentials WHERE user_id = ? AND slot = 'previous' "
                         "AND valid_until > ?",
                         {id, t}) > 0;
    db().exec("DELETE FROM credentials WHERE user_id = ? AND slot = 'previous'", {id});
    std::string until;
    if (grace > std::chrono::seconds(0)) {
      until = rfc3339_utc(now_point + grace);
      db().exec(
          "UPDATE credentials SET slot = 'previous', valid_until = ? "
          "WHERE user_id = ? AND slot = 'current'",
          {until, id});
    } else {
      db().exec("DELETE FROM credentials WHERE user_id = ? AND slot = 'current'", {id});
    }
    db().exec(
        "INSERT INTO credentials (user_id, slot, scheme, hash, issued_at) "
        "VALUES (?, 'current', ?, ?, ?)",
        {id, scheme_param(fresh), SqlParam::bytes(fresh.hash), t});
    db().exec("UPDATE users SET updated_at = ? WHERE id = ?", {t, id});
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

void SqlStore::set_active(const std::string& name, bool active) {
  guarded(fmt::format("change user '{}'", printable(name)), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    std::int64_t id = user_id(name);
    db().exec("UPDATE users SET status = ?, updated_at = ? WHERE id = ?",
              {active ? "active" : "disabled", now(), id});
    record_event(active ? "user enable" : "user disable", name, "");
    txn.commit();
  });
}

void SqlStore::delete_user(const std::string& name) {
  guarded(fmt::format("delete user '{}'", printable(name)), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    std::int64_t id = owned_user_id(name);
    db().exec("DELETE FROM users WHERE id = ?", {id});
    record_event("user delete", name, "");
    txn.commit();
  });
}

void SqlStore::update_user(const std::string& name, const UserUpdate& update) {
  std::optional<std::vector<std::string>> clean_tags;
  std::optional<std::vector<std::string>> clean_vhosts;
  if (update.tags) clean_tags = checked_tags(*update.tags);
  if (update.vhosts) clean_vhosts = checked_vhosts(*update.vhosts);
  check_queue_threshold_values(update);
  if (update.expires_at) check_expiry(*update.expires_at, now());
  guarded(fmt::format("change user '{}'", printable(name)), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    std::int64_t id = owned_user_id(name);
    std::string detail;
    if (clean_tags) {
      db().exec("UPDATE users SET tags = ? WHERE id = ?", {join_words(*clean_tags), id});
      detail += fmt::format("tags='{}' ", join_words(*clean_tags));
    }
    if (clean_vhosts) {
      db().exec("DELETE FROM user_vhosts WHERE user_id = ?", {id});
      for (const std::string& vhost : *clean_vhosts) {
        db().exec("INSERT INTO user_vhosts (user_id, vhost) VALUES (?, ?)", {id, vhost});
      }
      detail += fmt::format("vhosts='{}' ", join_words(*clean_vhosts));
    }
    if (update.queue_warn || update.queue_delete) {
      // Checked against the thresholds as they will be, inside the
      // transaction: a concurrent change cannot slip between check and write.
      std::optional<std::int64_t> warn_now;
      std::optional<std::int64_t> remove_now;
      db().query_first("SELECT queue_warn, queue_delete FROM users WHERE id = ?", {id},
                       [&](const SqlRow& row) {
                         warn_now = row.optional_int64(0);
                         remove_now = row.optional_int64(1);
                       });
      std::optional<std::int64_t> warn = update.queue_warn ? *update.queue_warn : warn_now;
      std::optional<std::int64_t> remove = update.queue_delete ? *update.queue_delete : remove_now;
      check_queue_thresholds(warn, remove);
      db().exec("UPDATE users SET queue_warn = ?, queue_delete = ? WHERE id = ?",
                {SqlParam::optional(warn), SqlParam::optional(remove), id});
      auto text = [](std::optional<std::int64_t> v) {
        return v ? std::to_string(*v) : std::string("default");
      };
      detail += fmt::format("queue_warn={} queue_delete={} ", text(warn), text(remove));
    }
    if (update.over_limit) {
      db().exec("UPDATE users SET over_limit = ? WHERE id = ?",
                {*update.over_limit ? SqlParam(to_string(**update.over_limit)) : SqlParam(), id});
      detail += fmt::format("over_limit={} ",
                            *update.over_limit ? to_string(**update.over_limit) : "default");
    }
    if (update.expires_at) {
      // A new expiry starts its notices over; the same one keeps them.
      SqlParam expires = SqlParam::text_or_null(*update.expires_at);
      db().exec(
          "UPDATE users SET expiry_notice_lead = CASE WHEN expires_at IS NOT DISTINCT FROM ? "
          "THEN expiry_notice_lead END, expires_at = ? WHERE id = ?",
          {expires, expires, id});
      detail += fmt::format("expires={} ", expiry_text(*update.expires_at));
    }
    db().exec("UPDATE users SET updated_at = ? WHERE id = ?", {now(), id});
    if (!detail.empty()) detail.pop_back();
    record_event("user set", name, detail);
    txn.commit();
  });
}

void SqlStore::add_owner(const std::string& name, const std::string& address) {
  check_owner_address(address);
  guarded(fmt::format("add an owner to '{}'", printable(name)), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    std::int64_t id = owned_user_id(name);
    if (insert_owner(id, address)) {
      record_event("user owner add", name, fmt::format("owner='{}'", address));
      txn.commit();
    }
  });
}

void SqlStore::remove_owner(const std::string& name, const std::string& address) {
  guarded(fmt::format("remove an owner of '{}'", printable(name)), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    std::int64_t id = owned_user_id(name);
    std::vector<std::string> current;
    std::string found;
    db().query("SELECT address FROM user_owners WHERE user_id = ?", {id}, [&](const SqlRow& row) {
      current.push_back(row.text(0));
      if (ascii_lower(current.back()) == ascii_lower(address)) found = current.back();
    });
    if (found.empty()) {
      throw StoreError(
          fmt::format("'{}' is not an owner of '{}'", printable(address), printable(name)));
    }
    if (current.size() == 1) {
      throw StoreError(fmt::format(
          "'{}' is the last owner of '{}': add another owner first, or delete the account",
          printable(found), printable(name)));
    }
    db().exec("DELETE FROM user_owners WHERE user_id = ? AND address = ?", {id, found});
    record_event("user owner remove", name, fmt::format("owner='{}'", found));
    txn.commit();
  });
}

void SqlStore::add_owners(const std::vector<OwnerGrant>& grants) {
  for (const OwnerGrant& grant : grants) check_owner_address(grant.address);
  guarded(fmt::format("add {} owners", grants.size()), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    for (const OwnerGrant& grant : grants) {
      if (insert_owner(user_id(grant.user), grant.address)) {
        record_event("import owners", grant.user, fmt::format("owner='{}'", grant.address));
      }
    }
    txn.commit();
  });
}

namespace {

UserInfo user_info_from_row(const SqlRow& row) {
  UserInfo info;
  info.name = row.text(0);
  info.tags = split_words(row.text(1));
  info.active = row.text(2) == "active";
  info.created_at = row.text(3);
  info.updated_at = row.text(4);
  info.vhosts = split_words(row.text_or_empty(5), "\n");
  info.queue_warn = row.optional_int64(6);
  info.queue_delete = row.optional_int64(7);
  info.owners = split_words(row.text_or_empty(8), "\n");
  std::optional<CredentialScheme> scheme = credential_scheme_from_string(row.text(9));
  if (!scheme) {
    throw StoreError(fmt::format("user '{}' has a malformed credential", printable(info.name)));
  }
  info.credential = *scheme;
  info.credential_issued_at = row.text_or_empty(10);
  info.previous_valid_until = row.text_or_empty(11);
  info.previous_issued_at = row.text_or_empty(12);
  info.expires_at = row.text_or_empty(13);
  info.expiry_notice_lead = row.optional_int64(14);
  if (!row.is_null(15)) {
    info.over_limit = over_limit_from_string(row.text(15));
    if (!info.over_limit) {
      throw StoreError(
          fmt::format("user '{}' has a malformed over-limit mode", printable(info.name)));
    }
  }
  return info;
}

}  // namespace

std::vector<UserInfo> SqlStore::user_infos(std::string_view where, const SqlParams& params) {
  std::string sql = fmt::format(
      "SELECT u.name, u.tags, u.status, u.created_at, u.updated_at, {}, "
      "       u.queue_warn, u.queue_delete, {}, "
      "       c.scheme, c.issued_at, p.valid_until, p.issued_at, u.expires_at, "
      "       u.expiry_notice_lead, u.over_limit "
      "FROM users u "
      "JOIN credentials c ON c.user_id = u.id AND c.slot = 'current' "
      "LEFT JOIN credentials p ON p.user_id = u.id AND p.slot = 'previous' {}",
      lines_of("vhost", "FROM user_vhosts v WHERE v.user_id = u.id"),
      lines_of("address", "FROM user_owners o WHERE o.user_id = u.id"), where);
  std::vector<UserInfo> users;
  db().query(sql, params, [&](const SqlRow& row) { users.push_back(user_info_from_row(row)); });
  return users;
}

std::optional<UserInfo> SqlStore::find_user(const std::string& name) {
  return guarded(fmt::format("read user '{}'", printable(name)), [&]() -> std::optional<UserInfo> {
    std::vector<UserInfo> found = user_infos("WHERE u.name = ?", {name});
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
  });
}

std::vector<UserInfo> SqlStore::list_users() {
  return guarded("list users", [&] { return user_infos("ORDER BY u.name", {}); });
}

std::vector<UserInfo> SqlStore::users_owned_by(const std::string& address) {
  return guarded("list users by owner", [&] {
    return user_infos(
        "WHERE u.id IN (SELECT user_id FROM user_owners WHERE address = ?) ORDER BY u.name",
        {address});
  });
}

bool SqlStore::record_expiry_notice(const std::string& user, const std::string& expires_at,
                                    std::int64_t lead, const std::vector<OutboxMail>& mails) {
  return guarded(fmt::format("record the expiry notice of '{}'", printable(user)), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    std::optional<std::int64_t> id;
    std::string stored_expiry;
    std::optional<std::int64_t> stored_lead;
    db().query_first("SELECT id, expires_at, expiry_notice_lead FROM users WHERE name = ?", {user},
                     [&](const SqlRow& row) {
                       id = row.int64(0);
                       stored_expiry = row.text_or_empty(1);
                       stored_lead = row.optional_int64(2);
                     });
    if (!id || stored_expiry != expires_at || expires_at.empty()) {
      return false;  // gone, or renewed since the guardian looked
    }
    if (stored_lead && *stored_lead <= lead) return false;
    db().exec("UPDATE users SET expiry_notice_lead = ? WHERE id = ?", {lead, *id});
    put_outbox(mails);
    txn.commit();
    return true;
  });
}

}  // namespace authsvc
