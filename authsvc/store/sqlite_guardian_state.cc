// The guardian's part of the Store: queue limits, exemptions, notices and
// the outbox (schema/003_guardian.sql).
#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include "authsvc/core/text.h"
#include "authsvc/store/sqlite_store.h"

namespace authsvc {

void SqliteStore::put_outbox(const std::vector<OutboxMail>& mails) {
  SQLite::Statement q(db(),
                      "INSERT INTO outbox (created_at, recipient, subject, body) "
                      "VALUES (?, ?, ?, ?)");
  const std::string created_at = now();
  for (const OutboxMail& mail : mails) {
    if (mail.recipient.empty()) continue;
    q.reset();
    q.bind(1, created_at);
    q.bind(2, mail.recipient);
    q.bind(3, mail.subject);
    q.bind(4, mail.body);
    q.exec();
  }
}

std::vector<std::string> SqliteStore::deleted_user_names() {
  return guarded("list the deleted users", [&] {
    SQLite::Statement q(db(),
                        "SELECT DISTINCT e.user FROM audit_events e "
                        "WHERE e.action = 'user delete' "
                        "AND NOT EXISTS (SELECT 1 FROM users u WHERE u.name = e.user) "
                        "ORDER BY e.user");
    std::vector<std::string> names;
    while (q.executeStep()) names.push_back(q.getColumn(0).getString());
    return names;
  });
}

bool SqliteStore::was_deleted(const std::string& name) {
  return guarded("look for a deleted user", [&] {
    SQLite::Statement q(db(),
                        "SELECT 1 FROM audit_events WHERE action = 'user delete' AND user = ? "
                        "LIMIT 1");
    q.bind(1, name);
    return q.executeStep();
  });
}

std::vector<ResourceKey> SqliteStore::queue_exemptions() {
  return guarded("read the queue exemptions", [&] {
    SQLite::Statement q(db(), "SELECT vhost, name FROM queue_exemptions ORDER BY vhost, name");
    std::vector<ResourceKey> keys;
    while (q.executeStep()) {
      keys.push_back(ResourceKey{q.getColumn(0).getString(), q.getColumn(1).getString()});
    }
    return keys;
  });
}

void SqliteStore::set_queue_exempt(const ResourceKey& queue, const std::string& owner,
                                   bool exempt) {
  guarded(fmt::format("change queue '{}'", printable(queue.name)), [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    if (exempt) {
      SQLite::Statement q(db(),
                          "INSERT OR IGNORE INTO queue_exemptions (vhost, name, created_at, "
                          "operator) VALUES (?, ?, ?, ?)");
      q.bind(1, queue.vhost);
      q.bind(2, queue.name);
      q.bind(3, now());
      q.bind(4, actor_.operator_name);
      if (q.exec() == 0)
        throw StoreError(fmt::format("queue '{}' is already exempt", printable(queue.name)));
    } else {
      SQLite::Statement q(db(), "DELETE FROM queue_exemptions WHERE vhost = ? AND name = ?");
      q.bind(1, queue.vhost);
      q.bind(2, queue.name);
      if (q.exec() == 0)
        throw StoreError(fmt::format("queue '{}' is not exempt", printable(queue.name)));
    }
    record_event(exempt ? "queue exempt" : "queue unexempt", owner,
                 fmt::format("vhost='{}' queue='{}'", queue.vhost, queue.name));
    txn.commit();
  });
}

std::vector<QueueNotice> SqliteStore::queue_notices() {
  return guarded("read the queue notices", [&] {
    SQLite::Statement q(db(),
                        "SELECT vhost, name, owner, state, messages, since FROM queue_notices "
                        "ORDER BY vhost, name");
    std::vector<QueueNotice> notices;
    while (q.executeStep()) {
      std::string state = q.getColumn(3).getString();
      std::optional<QueueNoticeState> parsed = queue_notice_state_from_string(state);
      if (!parsed)
        throw StoreError(fmt::format("queue notice with unknown state '{}'", printable(state)));
      notices.push_back(
          QueueNotice{ResourceKey{q.getColumn(0).getString(), q.getColumn(1).getString()},
                      q.getColumn(2).getString(), *parsed, q.getColumn(4).getInt64(),
                      q.getColumn(5).getString()});
    }
    return notices;
  });
}

void SqliteStore::change_notice(std::string_view what, const std::vector<OutboxMail>& mails,
                                const std::function<void()>& change) {
  guarded(what, [&] {
    SQLite::Transaction txn(db(), SQLite::TransactionBehavior::IMMEDIATE);
    change();
    put_outbox(mails);
    txn.commit();
  });
}

void SqliteStore::remove_notice(std::string_view what, const char* delete_sql,
                                const ResourceKey& key, const std::vector<OutboxMail>& mails) {
  change_notice(what, mails, [&] {
    SQLite::Statement q(db(), delete_sql);
    q.bind(1, key.vhost);
    q.bind(2, key.name);
    q.exec();
  });
}

void SqliteStore::put_queue_notice(const QueueNotice& notice,
                                   const std::vector<OutboxMail>& mails) {
  std::string what = fmt::format("record the notice of queue '{}'", printable(notice.queue.name));
  change_notice(what, mails, [&] {
    SQLite::Statement q(db(),
                        "INSERT OR REPLACE INTO queue_notices (vhost, name, owner, state, "
                        "messages, since) VALUES (?, ?, ?, ?, ?, ?)");
    q.bind(1, notice.queue.vhost);
    q.bind(2, notice.queue.name);
    q.bind(3, notice.owner);
    q.bind(4, std::string(to_string(notice.state)));
    q.bind(5, notice.messages);
    q.bind(6, notice.since.empty() ? now() : notice.since);
    q.exec();
  });
}

void SqliteStore::remove_queue_notice(const ResourceKey& queue,
                                      const std::vector<OutboxMail>& mails) {
  remove_notice(fmt::format("remove the notice of queue '{}'", printable(queue.name)),
                "DELETE FROM queue_notices WHERE vhost = ? AND name = ?", queue, mails);
}

std::vector<ExchangeNotice> SqliteStore::exchange_notices() {
  return guarded("read the exchange notices", [&] {
    SQLite::Statement q(db(),
                        "SELECT vhost, name, owner, problem, since FROM exchange_notices "
                        "ORDER BY vhost, name");
    std::vector<ExchangeNotice> notices;
    while (q.executeStep()) {
      notices.push_back(ExchangeNotice{
          ResourceKey{q.getColumn(0).getString(), q.getColumn(1).getString()},
          q.getColumn(2).getString(), q.getColumn(3).getString(), q.getColumn(4).getString()});
    }
    return notices;
  });
}

void SqliteStore::put_exchange_notice(const ExchangeNotice& notice,
                                      const std::vector<OutboxMail>& mails) {
  std::string what =
      fmt::format("record the notice of exchange '{}'", printable(notice.exchange.name));
  change_notice(what, mails, [&] {
    SQLite::Statement q(db(),
                        "INSERT OR REPLACE INTO exchange_notices (vhost, name, owner, problem, "
                        "since) VALUES (?, ?, ?, ?, ?)");
    q.bind(1, notice.exchange.vhost);
    q.bind(2, notice.exchange.name);
    q.bind(3, notice.owner);
    q.bind(4, notice.problem);
    q.bind(5, notice.since.empty() ? now() : notice.since);
    q.exec();
  });
}

void SqliteStore::remove_exchange_notice(const ResourceKey& exchange,
                                         const std::vector<OutboxMail>& mails) {
  remove_notice(fmt::format("remove the notice of exchange '{}'", printable(exchange.name)),
                "DELETE FROM exchange_notices WHERE vhost = ? AND name = ?", exchange, mails);
}

std::vector<OutboxMail> SqliteStore::outbox(std::size_t limit) {
  return guarded("read the outbox", [&] {
    SQLite::Statement q(db(),
                        "SELECT id, recipient, subject, body, attempts FROM outbox ORDER BY id "
                        "LIMIT ?");
    q.bind(1, static_cast<std::int64_t>(limit));
    std::vector<OutboxMail> mails;
    while (q.executeStep()) {
      mails.push_back(OutboxMail{q.getColumn(0).getInt64(), q.getColumn(1).getString(),
                                 q.getColumn(2).getString(), q.getColumn(3).getString(),
                                 q.getColumn(4).getInt64()});
    }
    return mails;
  });
}

void SqliteStore::remove_from_outbox(std::int64_t id) {
  guarded("remove a sent mail from the outbox", [&] {
    SQLite::Statement q(db(), "DELETE FROM outbox WHERE id = ?");
    q.bind(1, id);
    q.exec();
  });
}

void SqliteStore::outbox_failed(std::int64_t id, const std::string& error) {
  guarded("count a failed mail in the outbox", [&] {
    SQLite::Statement q(db(),
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?");
    q.bind(1, error);
    q.bind(2, id);
    q.exec();
  });
}

}  // namespace authsvc
