// The guardian's record of deleted and idle queues
// (schema/008_queue_care.sql): what its recreated-queue and orphan
// notices are decided from, kept across restarts and failovers.

#include <fmt/format.h>

#include "authsvc/core/text.h"
#include "authsvc/store/sql_database.h"
#include "authsvc/store/sql_store.h"

namespace authsvc {

void SqlStore::record_queue_deleted(const DeletedQueue& deleted,
                                    const std::vector<OutboxMail>& mails) {
  std::string what =
      fmt::format("record the deletion of queue '{}'", printable(deleted.queue.name));
  change_notice(what, mails, [&] {
    const ResourceKey& q = deleted.queue;
    db().exec("DELETE FROM queue_notices WHERE vhost = ? AND name = ?", {q.vhost, q.name});
    db().exec(
        "INSERT INTO deleted_queues (vhost, name, owner, deleted_at, messages, threshold) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (vhost, name) DO UPDATE SET "
        "owner = excluded.owner, deleted_at = excluded.deleted_at, "
        "messages = excluded.messages, threshold = excluded.threshold",
        {q.vhost, q.name, deleted.owner, deleted.deleted_at.empty() ? now() : deleted.deleted_at,
         deleted.messages, deleted.threshold});
    // What the guardian knew of it idle goes with it: a queue declared
    // again is a new one.
    db().exec("DELETE FROM idle_queues WHERE vhost = ? AND name = ?", {q.vhost, q.name});
  });
}

std::vector<DeletedQueue> SqlStore::deleted_queues() {
  return guarded("read the deleted queues", [&] {
    std::vector<DeletedQueue> out;
    db().query(
        "SELECT vhost, name, owner, deleted_at, messages, threshold FROM deleted_queues "
        "ORDER BY vhost, name",
        {}, [&](const SqlRow& row) {
          out.push_back(DeletedQueue{ResourceKey{row.text(0), row.text(1)}, row.text(2),
                                     row.text(3), row.int64(4), row.int64(5)});
        });
    return out;
  });
}

bool SqlStore::forget_deleted_queue(const ResourceKey& queue,
                                    const std::vector<OutboxMail>& mails) {
  return guarded(fmt::format("forget the deletion of queue '{}'", printable(queue.name)), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    if (db().exec("DELETE FROM deleted_queues WHERE vhost = ? AND name = ?",
                  {queue.vhost, queue.name}) == 0) {
      return false;
    }
    put_outbox(mails);
    db().announce_change("guardian");
    txn.commit();
    return true;
  });
}

std::vector<IdleQueue> SqlStore::idle_queues() {
  return guarded("read the idle queues", [&] {
    std::vector<IdleQueue> out;
    db().query(
        "SELECT vhost, name, owner, idle_since, orphan_mailed_at FROM idle_queues "
        "ORDER BY vhost, name",
        {}, [&](const SqlRow& row) {
          out.push_back(IdleQueue{ResourceKey{row.text(0), row.text(1)}, row.text(2), row.text(3),
                                  row.text_or_empty(4)});
        });
    return out;
  });
}

void SqlStore::update_idle_queues(const std::vector<IdleQueue>& idle,
                                  const std::vector<ResourceKey>& busy) {
  if (idle.empty() && busy.empty()) return;
  guarded(fmt::format("record {} idle and {} busy queues", idle.size(), busy.size()), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    for (const IdleQueue& q : idle) {
      db().exec(
          "INSERT INTO idle_queues (vhost, name, owner, idle_since) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (vhost, name) DO NOTHING",
          {q.queue.vhost, q.queue.name, q.owner, q.idle_since.empty() ? now() : q.idle_since});
    }
    for (const ResourceKey& q : busy) {
      db().exec("DELETE FROM idle_queues WHERE vhost = ? AND name = ?", {q.vhost, q.name});
    }
    txn.commit();
  });
}

bool SqlStore::record_orphan_notice(const ResourceKey& queue, const std::string& mailed_at,
                                    const std::vector<OutboxMail>& mails) {
  return guarded(fmt::format("record the orphan notice of queue '{}'", printable(queue.name)), [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    if (db().exec("UPDATE idle_queues SET orphan_mailed_at = ? "
                  "WHERE vhost = ? AND name = ? AND orphan_mailed_at IS NULL",
                  {mailed_at, queue.vhost, queue.name}) == 0) {
      return false;
    }
    put_outbox(mails);
    db().announce_change("guardian");
    txn.commit();
    return true;
  });
}

}  // namespace authsvc
