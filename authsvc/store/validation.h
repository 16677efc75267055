#pragma once
// What every store implementation checks before it writes: the same rules,
// with the same messages, whatever the database. Each throws StoreError with
// one line for the operator; a value quoted in it has its control
// characters escaped, so a name with a newline cannot break that line.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "authsvc/store/records.h"

namespace authsvc {

void check_user_name(const std::string& name);
// The tags and the vhosts, each checked, without repeats, sorted; a user
// needs at least one vhost.
std::vector<std::string> checked_tags(const std::vector<std::string>& tags);
std::vector<std::string> checked_vhosts(const std::vector<std::string>& vhosts);
// The thresholds an update sets are counts of messages above 0.
void check_queue_threshold_values(const UserUpdate& update);
// The thresholds a user will have: the warning one below the deletion one.
void check_queue_thresholds(std::optional<std::int64_t> warn, std::optional<std::int64_t> remove);

}  // namespace authsvc
