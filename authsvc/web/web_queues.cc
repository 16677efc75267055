#include "authsvc/web/web_queues.h"

#include <fmt/format.h>

#include <algorithm>

#include "authsvc/core/text.h"
#include "authsvc/guardian/guardian_policy.h"
#include "authsvc/web/web_error.h"

namespace authsvc {
namespace {

std::string_view guardian_word(const QueueStatus& status) {
  if (!status.notice) return "";
  return to_string(*status.notice);
}

QueueRow row_of(const QueueStatus& status) {
  QueueRow row;
  row.account = status.owner.value_or("");
  row.vhost = status.queue.vhost;
  row.name = status.queue.name;
  row.messages = status.queue.messages.value_or(0);
  row.consumers = status.queue.consumers.value_or(0);
  row.warn_at = status.limits.warn;
  row.delete_at = status.limits.remove;
  row.guardian = std::string(guardian_word(status));
  row.exempt = status.state == QueueState::exempt;
  if (status.state == QueueState::bounded) row.bounded_at = *queue_length_limit(status.queue);
  return row;
}

bool names_one_of(const QueueStatus& status, const std::vector<UserInfo>& accounts) {
  return status.owner && std::any_of(accounts.begin(), accounts.end(),
                                     [&](const UserInfo& u) { return u.name == *status.owner; });
}

}  // namespace

std::optional<std::vector<QueueStatus>> queue_statuses_of(Request& request,
                                                          const std::vector<UserInfo>& users,
                                                          std::string* unavailable) {
  if (!request.state.deps.open_broker) {
    *unavailable = "Queues cannot be shown: this web has no management API (--management-url).";
    return std::nullopt;
  }
  GuardianInput input;
  try {
    input.queues =
        request.state.broker_queues.get([&] { return request.state.deps.open_broker()->queues(); });
  } catch (const Error& e) {
    request.detail = fmt::format("management API: {}", e.what());
    *unavailable = "Queues cannot be shown: the broker's management API did not answer.";
    return std::nullopt;
  }
  input.users = users;
  input.exempt_queues = request.store->queue_exemptions();
  input.queue_notices = request.store->queue_notices();
  input.limits = request.state.options.queue_limits;
  return queue_statuses(input);
}

QueueListing queues_of(Request& request, const std::vector<UserInfo>& accounts) {
  QueueListing listing;
  std::optional<std::vector<QueueStatus>> all =
      queue_statuses_of(request, accounts, &listing.unavailable);
  if (!all) return listing;
  for (const QueueStatus& status : *all) {
    if (names_one_of(status, accounts)) listing.rows.push_back(row_of(status));
  }
  std::sort(listing.rows.begin(), listing.rows.end(), [](const QueueRow& a, const QueueRow& b) {
    return std::tie(a.vhost, a.name) < std::tie(b.vhost, b.name);
  });
  return listing;
}

QueueListing unowned_queues(Request& request) {
  QueueListing listing;
  std::optional<std::vector<QueueStatus>> all =
      queue_statuses_of(request, request.store->list_users(), &listing.unavailable);
  if (!all) return listing;
  for (const QueueStatus& status : *all) {
    if (status.owner && !status.owner_known) listing.rows.push_back(row_of(status));
  }
  return listing;
}

void delete_queue_of(Request& request, const std::vector<UserInfo>& accounts,
                     const std::string& vhost, const std::string& name) {
  request.user = owner_of("queue", name).value_or("");
  request.detail = fmt::format("queue {} in vhost {}", printable(name), printable(vhost));
  // The queue's account must be one of `accounts`, and the vhost one of
  // that account's: nothing else reaches the management API.
  bool mine = std::any_of(accounts.begin(), accounts.end(), [&](const UserInfo& u) {
    return u.name == request.user &&
           std::find(u.vhosts.begin(), u.vhosts.end(), vhost) != u.vhosts.end();
  });
  WebError no_such_queue(404, fmt::format("no such queue '{}'", printable(name)));
  if (!mine) throw no_such_queue;
  if (!request.state.deps.open_broker) {
    throw WebError(503, "queues cannot be deleted here: no management API is configured");
  }
  bool deleted = false;
  try {
    deleted = request.state.deps.open_broker()->delete_queue(vhost, name);
  } catch (const Error& e) {
    request.state.broker_queues.forget();
    throw WebError(503, fmt::format("the broker did not delete the queue: {}", e.what()));
  }
  // The page this leads to must not list the queue still.
  request.state.broker_queues.forget();
  if (!deleted) throw no_such_queue;
}

}  // namespace authsvc
