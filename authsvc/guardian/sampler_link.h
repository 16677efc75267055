#pragma once
// The broker's AMQP side as the message sampler uses it: a bounded queue of
// its own on each exchange it samples, consumed one unacknowledged message
// at a time. AmqpSamplerLink (amqp_sampler_link.h) is the implementation,
// on rabbitmq-c; the sampler's tests use an in-memory fake.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "authsvc/guardian/broker.h"
#include "authsvc/guardian/exchange_tally.h"

namespace authsvc {

// A message delivered to one of the sampler's queues, until acknowledged.
struct SamplerDelivery {
  SampledMessage message;
  std::uint64_t subscription = 0;  // the link's own number for the queue
  std::uint64_t tag = 0;           // the broker's delivery tag on its channel
};

// A subscription the broker ended (its exchange deleted, its channel
// closed), with the broker's words.
struct EndedSubscription {
  ResourceKey exchange;
  std::string reason;
};

class SamplerLink {
 public:
  virtual ~SamplerLink() = default;

  // Starts sampling `exchange`: its queue is declared, bound with '#' and
  // consumed from, without waiting for the broker's answers (next() reads
  // them). Subscribing to one subscribed already does nothing. Throws
  // BrokerError if the broker cannot be reached.
  virtual void subscribe(const ResourceKey& exchange) = 0;
  // Stops sampling it; its queue goes with its channel.
  virtual void unsubscribe(const ResourceKey& exchange) = 0;
  virtual std::vector<ResourceKey> subscriptions() const = 0;
  // The next message delivered, waiting at most `timeout`; nullopt if none
  // came. Throws BrokerError when a connection is lost: the caller close()s
  // and subscribes again later.
  virtual std::optional<SamplerDelivery> next(std::chrono::milliseconds timeout) = 0;
  // Lets the broker deliver the subscription's next message. One that
  // ended meanwhile is no error.
  virtual void ack(const SamplerDelivery& delivery) = 0;
  // The subscriptions the broker ended since the last call; they are no
  // longer among subscriptions().
  virtual std::vector<EndedSubscription> take_ended() = 0;
  // Drops every connection, and with them every queue.
  virtual void close() = 0;
};

}  // namespace authsvc
