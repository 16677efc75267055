#pragma once
// The guardian's cap on a queue (--over-limit cap): an operator policy of
// its own that matches that queue alone and holds it at the deletion
// threshold. RabbitMQ drops the oldest ready messages of a queue held at
// its max-length (its default overflow, drop-head); bindings and
// consumers stay.
//
// An operator policy, not a policy: RabbitMQ applies one policy to a queue
// (the highest priority), so a policy of ours would displace the
// operator's own (mirroring, TTLs) for that queue; an operator policy is
// applied beside it, the lower max-length winning. 3.10 refuses `overflow`
// in an operator policy, so a queue whose own overflow is not drop-head
// (x-overflow reject-publish would refuse its publishers' messages) is not
// capped but deleted.
//
// The guardian creates and removes only policies named with
// kCapPolicyPrefix, and only those of queues it recorded as capped.

#include <string>
#include <string_view>

#include "authsvc/guardian/broker_records.h"

namespace authsvc {

inline constexpr std::string_view kCapPolicyPrefix = "authsvc-cap-";

// "authsvc-cap-" and 16 hex digits of a SHA-256 of the vhost and the name:
// fixed length, whatever the queue's name holds.
std::string cap_policy_name(std::string_view vhost, std::string_view queue);
bool is_cap_policy(std::string_view policy);

// A regular expression (PCRE, as RabbitMQ matches policies) that matches
// `queue` and nothing else.
std::string cap_policy_pattern(std::string_view queue);

// Whether the broker drops a capped queue's oldest messages (not refuses
// its publishers'): its overflow is unset or drop-head.
bool drops_oldest(const QueueInfo& queue);

// Whether the guardian's cap is on the broker for `queue`. Its policy
// is looked for by name, not in the queue's listing: RabbitMQ 3.10 lists a
// queue's operator policy only with its statistics, seconds late.
bool cap_in_effect(const QueueInfo& queue);

}  // namespace authsvc
