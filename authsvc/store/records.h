#pragma once
// What the store keeps, as plain values: users as the CLI and the guardian
// see them, and the guardian's state (exemptions, notices, the outbox).
// No I/O here: the pure guardian planner and the audit formatter include
// this, never the store's implementation.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

// A user as the CLI shows it: everything but the token hash.
struct UserInfo {
  std::string name;
  std::string email;
  std::vector<std::string> tags;
  std::vector<std::string> vhosts;
  bool active = true;
  std::string created_at;
  std::string updated_at;
  std::string token_rotated_at;
  // The guardian's thresholds for this user's queues; nullopt: its defaults.
  std::optional<std::int64_t> queue_warn;
  std::optional<std::int64_t> queue_delete;
};

// A user to create.
struct NewUser {
  std::string name;
  std::string email;
  std::vector<std::string> tags;
  std::vector<std::string> vhosts;
};

// A change to a user: each field that is set replaces the current value.
// A queue threshold set to nullopt goes back to the guardian's default.
struct UserUpdate {
  std::optional<std::string> email;
  std::optional<std::vector<std::string>> tags;
  std::optional<std::vector<std::string>> vhosts;
  std::optional<std::optional<std::int64_t>> queue_warn;
  std::optional<std::optional<std::int64_t>> queue_delete;

  bool empty() const { return !email && !tags && !vhosts && !queue_warn && !queue_delete; }
};

// Who makes the changes through one store connection, for the audit trail.
struct Actor {
  std::string actor = "cli";
  std::string operator_name;  // the OS account
};

// A queue or exchange, as the broker names it.
struct ResourceKey {
  std::string vhost;
  std::string name;
  auto operator<=>(const ResourceKey&) const = default;
};

// Where the guardian is with a queue it has told its owner about.
enum class QueueNoticeState {
  warned,    // at or past the warning threshold; the owner was mailed
  deleting,  // being deleted: recorded before the API call, so that a
             // crash in between finishes the deletion and its mail
};

constexpr std::string_view to_string(QueueNoticeState state) {
  return state == QueueNoticeState::warned ? "warned" : "deleting";
}

constexpr std::optional<QueueNoticeState> queue_notice_state_from_string(std::string_view text) {
  if (text == "warned") return QueueNoticeState::warned;
  if (text == "deleting") return QueueNoticeState::deleting;
  return std::nullopt;
}

struct QueueNotice {
  ResourceKey queue;
  std::string owner;
  QueueNoticeState state = QueueNoticeState::warned;
  std::int64_t messages = 0;
  std::string since;
};

// A non-compliant exchange whose owner was told.
struct ExchangeNotice {
  ResourceKey exchange;
  std::string owner;
  std::string problem;
  std::string since;
};

// An e-mail waiting in the outbox.
struct OutboxMail {
  std::int64_t id = 0;
  std::string recipient;
  std::string subject;
  std::string body;
  std::int64_t attempts = 0;
};

}  // namespace authsvc
