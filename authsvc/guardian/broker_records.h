#pragma once
// What the guardian sees of the broker, as plain values: its queues,
// exchanges, client connections, channels and consumers. The pure planner (guardian_policy.h)
// reads these; broker.h is the seam that lists them.

#include <cstdint>
#include <optional>
#include <string>

namespace authsvc {

struct QueueInfo {
  std::string vhost;
  std::string name;
  // Ready plus unacknowledged messages. nullopt when the broker does not
  // report it (absent or null: stats not in yet, or the queue's node is
  // down): unknown is not empty, and the caller decides.
  std::optional<std::int64_t> messages;
  std::optional<std::int64_t> consumers;  // the same: nullopt when not reported
  bool durable = false;
  bool auto_delete = false;
  bool exclusive = false;
  // The queue's own length limit in ready messages (its x-max-length
  // argument), the policy in effect ("" for none), and the smaller of that
  // policy's max-length and its operator policy's (the guardian's own cap
  // not counted: queue_cap.h). nullopt: not set, or not a whole number the
  // broker applies.
  std::optional<std::int64_t> max_length_argument;
  std::string policy;
  std::optional<std::int64_t> policy_max_length;
  // The operator's own operator policy in effect on the queue ("" none;
  // the guardian's cap is not one: capped_by_guardian), as the broker's
  // statistics last said.
  std::string operator_policy;
  // Whether the guardian's cap on this queue (queue_cap.h) is on the
  // broker.
  bool capped_by_guardian = false;
  // What the broker does with the queue at its max-length: its x-overflow
  // argument, else its policy's overflow; "" when neither sets it
  // (drop-head, RabbitMQ's default).
  std::string overflow;
  // Of `messages`, the ready ones (what a max-length counts); nullopt when
  // not reported.
  std::optional<std::int64_t> messages_ready;
};

struct ExchangeInfo {
  std::string vhost;
  std::string name;  // "" for the default exchange
  std::string type;  // "direct", "topic", ... or a plugin's type
  bool durable = false;
  bool auto_delete = false;
  bool internal = false;
  // Messages a second published to it, as the broker last measured;
  // nullopt unless asked for (ManagementApi::exchanges_with_rates) and
  // reported.
  std::optional<double> publish_rate;
};

// A binding of a queue (or an exchange) to an exchange.
struct BindingInfo {
  std::string vhost;
  std::string source;            // the exchange
  std::string destination;       // the queue or exchange bound
  std::string destination_type;  // "queue" or "exchange"
};

struct ConnectionInfo {
  std::string name;  // e.g. "127.0.0.1:53012 -> 127.0.0.1:5672": what close_connection takes
  std::string user;  // "" while the connection has not authenticated yet
  std::string vhost;
  std::string peer;  // "host:port" ("[v6]:port"); "" if the broker does not say
  // When the connection opened, in ms since the epoch (the broker's clock);
  // nullopt if the broker does not say. Revocation after a token rotation
  // closes only connections opened before it.
  std::optional<std::int64_t> connected_at_ms;
};

// An open AMQP channel, for the report card (report_card.h): whether its
// publisher asked for confirms.
struct ChannelInfo {
  std::string name;  // "127.0.0.1:53012 -> 127.0.0.1:5672 (1)"
  std::string user;
  std::string vhost;
  bool confirm = false;  // in confirm mode (confirm.select)
  // Messages published on it since it opened, as the broker's statistics
  // say; nullopt: none reported (it has not published, or no statistics).
  std::optional<std::int64_t> published;
  // basic.qos with global=true: a limit shared by the channel's consumers.
  std::int64_t global_prefetch = 0;
};

// A consumer on a queue, for the report card and the queues' consumer
// counts.
struct ConsumerInfo {
  std::string vhost;
  std::string queue;
  std::string channel;  // ChannelInfo::name
  std::string user;     // whose channel it is
  // Its own prefetch limit (basic.qos before basic.consume); 0: none.
  std::int64_t prefetch = 0;
  // false: no-ack (auto-ack), which no prefetch limit holds back.
  bool ack_required = true;
};

}  // namespace authsvc
