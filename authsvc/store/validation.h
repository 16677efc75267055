#pragma once
// What every store implementation checks before it writes: the same rules,
// with the same messages, whatever the database. Each throws StoreError with
// one line for the operator; a value quoted in it has its control
// characters escaped, so a name with a newline cannot break that line.

#include <chrono>
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
// An owner's e-mail address: one '@' with something on both sides, 3 to 254
// printable ASCII characters without spaces, quotes, angle brackets,
// commas or semicolons (what would let it add a recipient or a header).
void check_owner_address(const std::string& address);
// The owners of a new account: at least one, each checked, each once
// (compared case-insensitively; the first spelling is kept), in order.
std::vector<std::string> checked_owners(const std::vector<std::string>& owners);
// An expiry as the store keeps it: "" (never), or an RFC 3339 UTC time
// (timestamp.h) after `now`.
void check_expiry(const std::string& expires_at, const std::string& now);
// A rotation's grace: 0 to 7 days.
void check_rotation_grace(std::chrono::seconds grace);
// An API key's label: at most 100 bytes of UTF-8 without control
// characters; "" is allowed.
void check_api_key_label(const std::string& label);
// The thresholds an update sets are counts of messages above 0.
void check_queue_threshold_values(const UserUpdate& update);
// The thresholds a user will have: the warning one below the deletion one.
void check_queue_thresholds(std::optional<std::int64_t> warn, std::optional<std::int64_t> remove);

}  // namespace authsvc
