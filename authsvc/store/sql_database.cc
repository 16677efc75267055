#include "authsvc/store/sql_database.h"

#include "authsvc/store/wake_signal.h"

namespace authsvc {

bool SqlDatabase::wait_for_change(std::chrono::milliseconds timeout, int wake_fd) {
  wait_readable(&wake_fd, 1, timeout);
  return false;
}

bool SqlDatabase::query_first(std::string_view sql, const SqlParams& params,
                              const SqlRowFn& on_row) {
  bool found = false;
  query(sql, params, [&](const SqlRow& row) {
    if (found) return;
    found = true;
    on_row(row);
  });
  return found;
}

std::optional<std::int64_t> SqlDatabase::query_int64(std::string_view sql,
                                                     const SqlParams& params) {
  std::optional<std::int64_t> value;
  query_first(sql, params, [&](const SqlRow& row) { value = row.optional_int64(0); });
  return value;
}

SqlTransaction::SqlTransaction(SqlDatabase& db, SqlTransactionKind kind) : db_(db) {
  db_.begin(kind);
}

SqlTransaction::~SqlTransaction() {
  if (open_) db_.rollback();
}

void SqlTransaction::commit() {
  db_.commit();
  open_ = false;
}

}  // namespace authsvc
