#pragma once
// What the guardian should do, decided from one look at the broker and the
// store: a pure function, so every rule below is tested without a broker.
//
// Queues named queue/<owner>/...:
//   - exempt ("unbounded", `authsvc queue exempt`): left alone;
//   - bounded by their owner at or below the deletion threshold (RabbitMQ's
//     queue length limit, x-max-length or a policy's max-length, which the
//     specification lets subscribers use): they can never grow past it, and
//     are left alone too;
//   - at or past the owner's deletion threshold: deleted, owner told; or,
//     in the account's over-limit mode `cap` (queue_cap.h), capped there
//     by the guardian's own policy, owner told, and the cap lifted (owner
//     told) once its ready messages are back under the warning threshold;
//   - at or past the warning threshold: owner warned, once;
//   - back below the warning threshold after a warning: owner told, once.
//   A queue whose size the broker does not report yet is left as it is.
//   A queue the guardian deleted that is declared again: owner told once
//   (the record is kept 30 days). A user's queue without consumers for
//   `orphan_after` (counted from the first look that saw none): owner told
//   once, until it has a consumer again.
//   Queues outside queue/<user>/ (the broker's, server-named) are not ours.
// Exchanges named exchange/<owner>/... that are not durable topic exchanges
// (what the Pulse specification requires): owner told once; deleted only
// when the operator asked for that.
// Accounts that expire: their owners are told before (expiry_notice.h).
// Connections are closed when their user is disabled, deleted or expired,
// or when they were opened before the oldest credential that still logs in
// was issued: during a rotation's grace the previous credential's issue
// time (older ones opened them), after it the current one's. An issue time
// of "" (a password imported from RabbitMQ, older than authsvc) closes
// nothing. A user name authsvc never knew (an operator's broker-internal
// account) is left alone.
//
// Mails go to every owner of the account; an account without owners, or a
// user authsvc does not know, gets none.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "authsvc/guardian/broker_records.h"
#include "authsvc/guardian/queue_cap.h"
#include "authsvc/guardian/queue_growth.h"
#include "authsvc/store/records.h"

namespace authsvc {

struct QueueLimits {
  std::int64_t warn = 2000;  // PulseGuardian's defaults
  std::int64_t remove = 8000;
  OverLimit over_limit = OverLimit::remove;  // what is done at `remove`
};

// The limit RabbitMQ holds `queue` to, in ready messages: the smaller of
// its argument and its policy's (the broker applies the lower of the two);
// nullopt when it has none.
std::optional<std::int64_t> queue_length_limit(const QueueInfo& queue);

// A user's thresholds: their own where set, else `defaults`. `user` may be
// null (an owner authsvc does not know).
QueueLimits limits_for(const UserInfo* user, QueueLimits defaults);

struct GuardianInput {
  // From the broker.
  std::vector<QueueInfo> queues;
  std::vector<ExchangeInfo> exchanges;
  std::vector<ConnectionInfo> connections;
  std::vector<std::string> internal_users;  // the broker's own user database
  // From the store.
  std::vector<UserInfo> users;
  std::vector<std::string> deleted_users;
  std::vector<ResourceKey> exempt_queues;
  std::vector<QueueNotice> queue_notices;
  std::vector<ExchangeNotice> exchange_notices;
  std::vector<DeletedQueue> deleted_queues;
  std::vector<IdleQueue> idle_queues;
  // From the command line.
  QueueLimits limits;
  bool delete_noncompliant_exchanges = false;
  // How long before an account's expiry its owners are told (none: never).
  std::vector<std::chrono::seconds> expiry_notice_leads;
  // How long a user's queue may go without consumers before its owners
  // are told it is an orphan; nullopt: never (and idle queues are not
  // tracked).
  std::optional<std::chrono::seconds> orphan_after;
  // A queue deleted less than this ago and still listed is not taken for
  // declared again: the management API's listing lags a deletion. The
  // guardian's interval: the look after a deletion sees the truth.
  std::chrono::milliseconds recreated_after{0};
  // The time of this look: the planner reads no clock. Expiry and a
  // rotation's grace are decided against it.
  std::chrono::system_clock::time_point now{};
  // Names already reported as in both user databases, by this guardian
  // process: each is reported once a run, not at every look.
  std::set<std::string> reported_internal_users;
  // How fast the queues grew over the guardian's recent looks (those it
  // has two sizes of): what a warning says of the pace.
  std::map<ResourceKey, QueueGrowthRate> growth;
};

struct GuardianAction {
  enum class Kind {
    warn_queue,              // mail the owner, record the warning
    queue_back_to_normal,    // mail the owner, forget the warning
    delete_queue,            // delete through the API, then mail the owner
    finish_queue_deletion,   // the queue is gone: mail the owner (after a restart)
    forget_queue_notice,     // exempted or deleted by its owner: no mail
    report_exchange,         // mail the owner, record the report
    delete_exchange,         // only with delete_noncompliant_exchanges
    forget_exchange_notice,  // compliant now, or gone
    close_connection,
    expiry_notice,  // mail the owners that the account expires, record it
    // A name authsvc has (or deleted) is also in the broker's internal
    // database: told to the operator (audit, stderr), never removed.
    report_internal_user,
    // --over-limit cap: hold the queue at its deletion threshold with the
    // guardian's policy (record it as capped, mail the owner the first
    // time); lift it (remove the policy, forget the notice, mail the owner);
    // remove the policy of a capped queue that is gone (no mail).
    cap_queue,
    lift_cap,
    remove_cap,
    recreated_queue,       // a deleted queue is back: mail the owner, forget the deletion
    forget_deleted_queue,  // a deletion recorded 30 days ago: no mail
    note_idle_queue,       // first seen without consumers: recorded, no mail
    note_busy_queue,       // a consumer again, or gone: forgotten, no mail
    orphan_notice,         // without consumers for orphan_after: mail the owner, once
  };
  Kind kind;
  std::string vhost;
  std::string name;   // queue, exchange or connection name; the account for expiry_notice
  std::string owner;  // user name (the account)
  // The account's owners' addresses: who is mailed. Empty for an account
  // without owners and for a user authsvc does not know (known_user).
  std::vector<std::string> emails;
  bool known_user = false;
  std::int64_t messages = 0;
  std::int64_t threshold = 0;  // the one crossed
  std::int64_t delete_threshold = 0;
  std::int64_t warn_threshold = 0;
  OverLimit over_limit = OverLimit::remove;  // the owner's mode (queues)
  // cap_queue: the operator policy in effect on the queue now ("" none),
  // which the cap keeps (Broker::cap_queue).
  std::string operator_policy;
  // recreated_queue: when it was deleted; orphan_notice and
  // note_idle_queue: since when it has had no consumer. RFC 3339.
  std::string since;
  std::string reason;  // why (an exchange's problem, why a connection is closed)
  // warn_queue: the queue's recent pace, if the guardian knows it.
  std::optional<QueueGrowthRate> growth;
  std::optional<QueueNoticeState> notice_state;  // the queue's notice before this action
  // expiry_notice: when the account expires (as the store has it), the
  // notice's lead and what is left then, in seconds.
  std::string expires_at;
  std::int64_t lead = 0;
  std::int64_t remaining = 0;
};

const char* to_string(GuardianAction::Kind kind);

// Where a queue stands under the rules above: what plan_guardian acts on and
// what `authsvc queue list` shows, decided in one place.
enum class QueueState {
  not_a_users_queue,   // not under queue/<user>/: never touched
  exempt,              // exempted (unbounded): left alone
  bounded,             // held by the broker at or below the deletion threshold: left alone
  size_unknown,        // the broker does not report its size yet: left as it is
  ok,                  // under the warning threshold
  back_under_warning,  // under the warning threshold after a notice: the owner is to be told
  over_warning,        // at or past the warning threshold, the owner not warned yet
  warned,              // at or past the warning threshold, the owner warned
  over_deletion,       // at or past the deletion threshold: to be deleted (or capped)
  capped,              // held at the deletion threshold by the guardian's cap
};

// For people: "ok", "warned", "over the deletion threshold", ...
std::string_view to_string(QueueState state);

// `queue`'s state, given its owner's thresholds, whether it is exempt, and
// the notice the guardian holds for it (nullopt: none). The owner comes
// from the name; whether authsvc knows that user changes no rule (an
// unknown owner's queue has the default thresholds and gets no mail), so it
// is not a state.
QueueState classify_queue(const QueueInfo& queue, QueueLimits limits, bool exempt,
                          std::optional<QueueNoticeState> notice);

// A listed queue with what classify_queue was given and what it said.
struct QueueStatus {
  QueueInfo queue;
  std::optional<std::string> owner;  // from the name; nullopt: not a user's queue
  bool owner_known = false;          // authsvc has a user of that name
  std::vector<std::string> emails;   // that account's owners; empty if none or unknown
  QueueLimits limits;                // the owner's thresholds, else input.limits
  std::optional<QueueNoticeState> notice;
  QueueState state = QueueState::ok;
};

// Every queue in input.queues, in order, looked up in input's users,
// exemptions and notices, and classified.
std::vector<QueueStatus> queue_statuses(const GuardianInput& input);

// Why an exchange is not what Pulse asks ("its type is fanout, not topic
// and it is not durable"); "" for a durable topic exchange.
std::string exchange_problem(const ExchangeInfo& exchange);

// The owner in "queue/<owner>/..." or "exchange/<owner>/...", or nullopt.
std::optional<std::string> owner_of(std::string_view prefix, std::string_view name);

std::vector<GuardianAction> plan_guardian(const GuardianInput& input);

}  // namespace authsvc
