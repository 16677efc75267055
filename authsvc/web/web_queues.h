#pragma once
// The queues the web shows: read through the management API, each with
// what the guardian makes of it (guardian_policy.h's queue_statuses, the
// one place that decides), kept to the accounts asked about.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "authsvc/guardian/guardian_policy.h"
#include "authsvc/web/pages.h"
#include "authsvc/web/web_request.h"

namespace authsvc {

struct QueueListing {
  std::vector<QueueRow> rows;
  std::string unavailable;  // why there are no rows to show, if so
};

// Every queue the broker lists, as the guardian classifies them (with
// the thresholds of `users`, who own them); nullopt, and why in
// *unavailable, when there is no management API or it did not answer.
std::optional<std::vector<QueueStatus>> queue_statuses_of(Request& request,
                                                          const std::vector<UserInfo>& users,
                                                          std::string* unavailable);

// The queues of `accounts` (queue/<account>/...), by vhost and name.
QueueListing queues_of(Request& request, const std::vector<UserInfo>& accounts);
// The queues under queue/<name>/ for a name authsvc has no account of.
QueueListing unowned_queues(Request& request);

// Deletes the queue if it is one of `accounts`'; 404 otherwise, as for a
// queue that does not exist; 503 if the broker cannot be asked.
void delete_queue_of(Request& request, const std::vector<UserInfo>& accounts,
                     const std::string& vhost, const std::string& name);

}  // namespace authsvc
