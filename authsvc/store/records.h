#pragma once
// What the store keeps, as plain values: users as the CLI and the guardian
// see them, and the guardian's state (exemptions, notices, the outbox).
// No I/O here: the pure guardian planner and the audit formatter include
// this, never the store's implementation.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authsvc/core/credential.h"
#include "authsvc/core/message_inspection.h"
#include "authsvc/core/token.h"

namespace authsvc {

// What the guardian does with a queue past its deletion threshold: delete
// it (PulseGuardian's way), or cap it there with a broker policy, keeping
// its bindings and consumers and dropping its oldest messages.
enum class OverLimit { remove, cap };

constexpr std::string_view to_string(OverLimit mode) {
  return mode == OverLimit::cap ? "cap" : "delete";
}

constexpr std::optional<OverLimit> over_limit_from_string(std::string_view text) {
  if (text == "delete") return OverLimit::remove;
  if (text == "cap") return OverLimit::cap;
  return std::nullopt;
}

// A user as the CLI shows it: everything but the credential's hash. Times
// are RFC 3339 text as the store keeps them; "" where there is none.
struct UserInfo {
  std::string name;
  // E-mail addresses of the people answerable for the account, each once
  // (compared case-insensitively), sorted; empty for an account imported
  // from RabbitMQ whose owners were not imported yet.
  std::vector<std::string> owners;
  std::vector<std::string> tags;
  std::vector<std::string> vhosts;
  bool active = true;
  std::string created_at;
  std::string updated_at;
  // The credential that logs in now: a token, or a password imported from
  // RabbitMQ (legacy) until the next rotation.
  CredentialScheme credential = CredentialScheme::token;
  // When that credential was issued; "" for an imported password, which is
  // older than authsvc's knowledge of it.
  std::string credential_issued_at;
  // During a rotation's grace, the previous credential still logs in until
  // previous_valid_until; previous_issued_at is when it was issued ("" if
  // imported). Both "" without a previous credential. The store keeps a
  // previous credential after its grace ended (the guardian closes the
  // connections it opened); compare previous_valid_until with the clock.
  std::string previous_valid_until;
  std::string previous_issued_at;
  // When the account stops working; "" never.
  std::string expires_at;
  // The lead (seconds before expires_at) of the latest expiry notice sent
  // for this expires_at; nullopt: none yet. Changing expires_at clears it.
  std::optional<std::int64_t> expiry_notice_lead;
  // The guardian's thresholds for this user's queues; nullopt: its defaults.
  std::optional<std::int64_t> queue_warn;
  std::optional<std::int64_t> queue_delete;
  // What the guardian does with a queue past queue_delete; nullopt: its
  // --over-limit.
  std::optional<OverLimit> over_limit;
};

// A user to create, with a fresh token.
struct NewUser {
  std::string name;
  std::vector<std::string> owners;  // at least one
  std::vector<std::string> tags;
  std::vector<std::string> vhosts;
  std::string expires_at;  // RFC 3339 in the future, or "" for never
};

// A user imported from RabbitMQ's definitions, with its own password hash
// (a legacy credential) and no owner yet.
struct ImportedUser {
  std::string name;
  std::vector<std::string> tags;
  std::vector<std::string> vhosts;
  Credential credential;
};

// An owner to add to an account (`authsvc import owners`).
struct OwnerGrant {
  std::string user;
  std::string address;
};

// A change to a user: each field that is set replaces the current value.
// A queue threshold set to nullopt goes back to the guardian's default.
struct UserUpdate {
  std::optional<std::vector<std::string>> tags;
  std::optional<std::vector<std::string>> vhosts;
  std::optional<std::optional<std::int64_t>> queue_warn;
  std::optional<std::optional<std::int64_t>> queue_delete;
  std::optional<std::optional<OverLimit>> over_limit;
  // RFC 3339 in the future, or "" for never.
  std::optional<std::string> expires_at;

  bool empty() const {
    return !tags && !vhosts && !queue_warn && !queue_delete && !over_limit && !expires_at;
  }
};

// Who makes the changes through one store connection, for the audit trail.
struct Actor {
  std::string actor = "cli";
  // The OS account (the CLI), or the verified address of the person
  // signed in (the web).
  std::string operator_name;
};

// A sign-in to the web begun at /login, until /callback finishes it. Its
// secrets are kept as hashes (schema/005_web.sql).
struct WebSignIn {
  TokenHash state_hash{};
  TokenHash browser_hash{};
  std::string next;  // a path inside the site
  std::string created_at;
};

// A signed-in browser, found by the hash of its cookie's session id.
struct WebSession {
  TokenHash id_hash{};
  std::string address;  // the verified e-mail address it acts as
  std::string created_at;
  std::string last_seen_at;
};

// A personal API key, without its secret. Times are RFC 3339, "" for none.
struct ApiKeyInfo {
  std::int64_t id = 0;
  std::string address;  // whom it acts as
  std::string label;
  std::string created_at;
  std::string expires_at;
  std::string revoked_at;
  std::string last_used_at;
};

// A new API key: the secret exists in clear only here.
struct NewApiKey {
  ApiKeyInfo info;
  std::string key;
};

// What end_web_access ended.
struct WebAccessEnded {
  std::size_t sessions = 0;
  std::size_t api_keys = 0;
};

// A queue or exchange, as the broker names it.
struct ResourceKey {
  std::string vhost;
  std::string name;
  auto operator<=>(const ResourceKey&) const = default;
};

// A message as the guardian's sampler keeps it: what its publisher set,
// and the first bytes of its payload. Every field is bytes the publisher
// chose (any bytes, control characters included): shown only escaped
// (core/payload_sample.h).
struct MessageExample {
  std::string routing_key;
  std::optional<std::string> content_type;    // nullopt: none set
  std::optional<std::int64_t> delivery_mode;  // nullopt: none set
  std::int64_t size = 0;                      // the whole payload's, in bytes
  std::string payload;                        // its first kMessageExampleBytes at most
};
inline constexpr std::size_t kMessageExampleBytes = 4096;

// One kind of violation seen on an exchange.
struct ExchangeViolationRecord {
  MessageViolation kind = MessageViolation::not_json;
  std::int64_t count = 0;
  std::string last_at;
  MessageExample example;  // the last message of this kind
  // The last mail to the exchange's owners about it ("" none yet), and the
  // count that mail reported.
  std::string mailed_at;
  std::int64_t mailed_count = 0;
};

// What the sampler saw on one exchange: all told, as the store keeps it,
// or since its last report, as the sampler hands it to the store
// (ExchangeSampleStore::add_exchange_samples).
struct ExchangeSample {
  ResourceKey exchange;
  std::int64_t inspected = 0;
  std::string first_seen_at;
  std::string last_seen_at;
  MessageExample last;
  // The top-level keys of the JSON objects seen, first seen first, at most
  // kMaxJsonKeys.
  std::vector<std::string> json_keys;
  std::int64_t routing_key_fields_min = 0;
  std::int64_t routing_key_fields_max = 0;
  // The kinds seen, in kMessageViolations' order.
  std::vector<ExchangeViolationRecord> violations;
  static constexpr std::size_t kMaxJsonKeys = 64;

  // Adds the keys not seen yet, in order, while there is room.
  void add_json_keys(const std::vector<std::string>& keys) {
    for (const std::string& key : keys) {
      if (json_keys.size() >= kMaxJsonKeys) return;
      if (std::find(json_keys.begin(), json_keys.end(), key) == json_keys.end())
        json_keys.push_back(key);
    }
  }
};

// Where the guardian is with a queue it has told its owner about.
enum class QueueNoticeState {
  warned,    // at or past the warning threshold; the owner was mailed
  deleting,  // being deleted: recorded before the API call, so that a
             // crash in between finishes the deletion and its mail
  capped,    // held at its deletion threshold by the guardian's policy:
             // recorded before the policy is applied, for the same reason
};

constexpr std::string_view to_string(QueueNoticeState state) {
  switch (state) {
    case QueueNoticeState::warned:
      return "warned";
    case QueueNoticeState::deleting:
      return "deleting";
    case QueueNoticeState::capped:
      return "capped";
  }
  return "?";
}

constexpr std::optional<QueueNoticeState> queue_notice_state_from_string(std::string_view text) {
  if (text == "warned") return QueueNoticeState::warned;
  if (text == "deleting") return QueueNoticeState::deleting;
  if (text == "capped") return QueueNoticeState::capped;
  return std::nullopt;
}

struct QueueNotice {
  ResourceKey queue;
  std::string owner;
  QueueNoticeState state = QueueNoticeState::warned;
  std::int64_t messages = 0;
  std::string since;
};

// A queue the guardian deleted: if it is declared again, its owners are
// told once when and why it was.
struct DeletedQueue {
  ResourceKey queue;
  std::string owner;
  std::string deleted_at;
  std::int64_t messages = 0;   // when it was deleted
  std::int64_t threshold = 0;  // the deletion threshold it had reached
};

// A user's queue the guardian saw without consumers.
struct IdleQueue {
  ResourceKey queue;
  std::string owner;
  std::string idle_since;        // the first look that saw none
  std::string orphan_mailed_at;  // "" while its owners were not told
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
