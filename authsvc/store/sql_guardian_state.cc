// The guardian's part of the Store: queue limits, exemptions, notices and
// the outbox (schema/003_guardian.sql).
#include <fmt/format.h>

#include "authsvc/core/text.h"
#include "authsvc/store/sql_store.h"

namespace authsvc {

void SqlStore::put_outbox(const std::vector<OutboxMail>& mails) {
  const std::string created_at = now();
  for (const OutboxMail& mail : mails) {
    if (mail.recipient.empty()) continue;
    db().exec("INSERT INTO outbox (created_at, recipient, subject, body) VALUES (?, ?, ?, ?)",
              {created_at, mail.recipient, mail.subject, mail.body});
  }
}

std::vector<std::string> SqlStore::deleted_user_names() {
  return guarded("list the deleted users", [&] {
    std::vector<std::string> names;
    db().query(
        "SELECT DISTINCT e.\"user\" FROM audit_events e "
        "WHERE e.action = 'user delete' "
        "AND NOT EXISTS (SELECT 1 FROM users u WHERE u.name = e.\"user\") "
        "ORDER BY e.\"user\"",
        {}, [&](const SqlRow& row) { names.push_back(row.text(0)); });
    return names;
  });
}

bool SqlStore::was_deleted(const std::string& name) {
  return guarded("look for a deleted user", [&] {
    return db()
        .query_int64(
            "SELECT 1 FROM audit_events WHERE action = 'user delete' AND \"user\" = ? LIMIT 1",
            {name})
        .has_value();
  });
}

std::vector<ResourceKey> SqlStore::queue_exemptions() {
  return guarded("read the queue exemptions", [&] {
    std::vector<ResourceKey> keys;
    db().query("SELECT vhost, name FROM queue_exemptions ORDER BY vhost, name", {},
               [&](const SqlRow& row) {
                 keys.push_back(ResourceKey{row.text(0), row.text(1)});
               });
    return keys;
  });
}

void SqlStore::set_queue_exempt(const ResourceKey& queue, const std::string& owner, bool exempt) {
  guarded(fmt::format("change queue '{}'", printable(queue.name)), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    if (exempt) {
      if (db().exec("INSERT INTO queue_exemptions (vhost, name, created_at, operator) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    {queue.vhost, queue.name, now(), actor_.operator_name}) == 0)
        throw StoreError(fmt::format("queue '{}' is already exempt", printable(queue.name)));
    } else {
      if (db().exec("DELETE FROM queue_exemptions WHERE vhost = ? AND name = ?",
                    {queue.vhost, queue.name}) == 0)
        throw StoreError(fmt::format("queue '{}' is not exempt", printable(queue.name)));
    }
    record_event(exempt ? "queue exempt" : "queue unexempt", owner,
                 fmt::format("vhost='{}' queue='{}'", queue.vhost, queue.name));
    txn.commit();
  });
}

std::vector<QueueNotice> SqlStore::queue_notices() {
  return guarded("read the queue notices", [&] {
    std::vector<QueueNotice> notices;
    db().query(
        "SELECT vhost, name, owner, state, messages, since FROM queue_notices "
        "ORDER BY vhost, name",
        {}, [&](const SqlRow& row) {
          std::string state = row.text(3);
          std::optional<QueueNoticeState> parsed = queue_notice_state_from_string(state);
          if (!parsed)
            throw StoreError(fmt::format("queue notice with unknown state '{}'", printable(state)));
          notices.push_back(QueueNotice{ResourceKey{row.text(0), row.text(1)}, row.text(2), *parsed,
                                        row.int64(4), row.text(5)});
        });
    return notices;
  });
}

void SqlStore::change_notice(std::string_view what, const std::vector<OutboxMail>& mails,
                             const std::function<void()>& change) {
  guarded(what, [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    change();
    put_outbox(mails);
    db().announce_change("guardian");
    txn.commit();
  });
}

void SqlStore::remove_notice(std::string_view what, const char* delete_sql, const ResourceKey& key,
                             const std::vector<OutboxMail>& mails) {
  change_notice(what, mails, [&] { db().exec(delete_sql, {key.vhost, key.name}); });
}

void SqlStore::put_queue_notice(const QueueNotice& notice, const std::vector<OutboxMail>& mails) {
  std::string what = fmt::format("record the notice of queue '{}'", printable(notice.queue.name));
  change_notice(what, mails, [&] {
    db().exec(
        "INSERT INTO queue_notices (vhost, name, owner, state, messages, since) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (vhost, name) DO UPDATE SET "
        "owner = excluded.owner, state = excluded.state, messages = excluded.messages, "
        "since = excluded.since",
        {notice.queue.vhost, notice.queue.name, notice.owner, std::string(to_string(notice.state)),
         notice.messages, notice.since.empty() ? now() : notice.since});
  });
}

void SqlStore::remove_queue_notice(const ResourceKey& queue, const std::vector<OutboxMail>& mails) {
  remove_notice(fmt::format("remove the notice of queue '{}'", printable(queue.name)),
                "DELETE FROM queue_notices WHERE vhost = ? AND name = ?", queue, mails);
}

std::vector<ExchangeNotice> SqlStore::exchange_notices() {
  return guarded("read the exchange notices", [&] {
    std::vector<ExchangeNotice> notices;
    db().query(
        "SELECT vhost, name, owner, problem, since FROM exchange_notices ORDER BY vhost, name", {},
        [&](const SqlRow& row) {
          notices.push_back(ExchangeNotice{ResourceKey{row.text(0), row.text(1)}, row.text(2),
                                           row.text(3), row.text(4)});
        });
    return notices;
  });
}

void SqlStore::put_exchange_notice(const ExchangeNotice& notice,
                                   const std::vector<OutboxMail>& mails) {
  std::string what =
      fmt::format("record the notice of exchange '{}'", printable(notice.exchange.name));
  change_notice(what, mails, [&] {
    db().exec(
        "INSERT INTO exchange_notices (vhost, name, owner, problem, since) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (vhost, name) DO UPDATE SET "
        "owner = excluded.owner, problem = excluded.problem, since = excluded.since",
        {notice.exchange.vhost, notice.exchange.name, notice.owner, notice.problem,
         notice.since.empty() ? now() : notice.since});
  });
}

void SqlStore::remove_exchange_notice(const ResourceKey& exchange,
                                      const std::vector<OutboxMail>& mails) {
  remove_notice(fmt::format("remove the notice of exchange '{}'", printable(exchange.name)),
                "DELETE FROM exchange_notices WHERE vhost = ? AND name = ?", exchange, mails);
}

std::vector<OutboxMail> SqlStore::outbox(std::size_t limit) {
  return guarded("read the outbox", [&] {
    std::vector<OutboxMail> mails;
    db().query("SELECT id, recipient, subject, body, attempts FROM outbox ORDER BY id LIMIT ?",
               {static_cast<std::int64_t>(limit)}, [&](const SqlRow& row) {
                 mails.push_back(
                     OutboxMail{row.int64(0), row.text(1), row.text(2), row.text(3), row.int64(4)});
               });
    return mails;
  });
}

void SqlStore::remove_from_outbox(std::int64_t id) {
  guarded("remove a sent mail from the outbox",
          [&] { db().exec("DELETE FROM outbox WHERE id = ?", {id}); });
}

void SqlStore::outbox_failed(std::int64_t id, const std::string& error) {
  guarded("count a failed mail in the outbox", [&] {
    db().exec("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
              {error, id});
  });
}

}  // namespace authsvc
