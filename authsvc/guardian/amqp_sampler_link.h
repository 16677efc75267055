#pragma once
// The sampler's link (sampler_link.h) over AMQP 0-9-1, with rabbitmq-c
// (Debian's librabbitmq-dev), logged in as the broker's operator account.
//
// Each exchange gets a channel of its own, so that the broker closing one
// (an exchange deleted between listing and binding: 404) ends that
// subscription alone. On it, a queue named authsvc.sampler.<random>,
// exclusive to the connection, auto-deleted with its consumer, and bounded three ways
// (x-max-length, x-max-length-bytes, x-message-ttl; overflow drop-head),
// so that it can never grow: what the sampler does not take expires
// unread. It is consumed with a prefetch of one: the broker sends the
// next message only once the last is acknowledged, which is how the
// sampler keeps to its rate.
//
// Nothing here waits for the broker but next(): subscribing sends its
// methods and next() reads their answers with the deliveries, one frame
// at a time, so that a payload is never read into memory beyond
// `max_payload` bytes (rabbitmq-c's own helpers read it whole, and queue
// other channels' frames in memory while they wait). Up to
// `channels_per_connection` exchanges share a connection; a vhost has
// connections of its own.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "authsvc/guardian/sampler_link.h"

namespace authsvc {

struct AmqpSamplerOptions {
  std::string host = "127.0.0.1";
  int port = 5672;
  bool tls = false;
  std::string ca_file;  // with tls: the broker's CA ("": the system's)
  std::string user;
  std::string password;
  std::string connection_name = "authsvc sampler";
  // Each exchange's queue never holds more than this.
  std::int64_t queue_messages = 60;
  std::int64_t queue_bytes = 4 * 1024 * 1024;
  std::chrono::milliseconds message_ttl{60000};
  // Of a payload, at most this much is read into memory; the rest is
  // skipped as it arrives.
  std::size_t max_payload = 64 * 1024;
  std::chrono::milliseconds connect_timeout{10000};
  std::size_t channels_per_connection = 1000;
};

class AmqpSamplerLink : public SamplerLink {
 public:
  explicit AmqpSamplerLink(AmqpSamplerOptions options);
  ~AmqpSamplerLink() override;
  AmqpSamplerLink(const AmqpSamplerLink&) = delete;
  AmqpSamplerLink& operator=(const AmqpSamplerLink&) = delete;

  void subscribe(const ResourceKey& exchange) override;
  void unsubscribe(const ResourceKey& exchange) override;
  std::vector<ResourceKey> subscriptions() const override;
  std::optional<SamplerDelivery> next(std::chrono::milliseconds timeout) override;
  void ack(const SamplerDelivery& delivery) override;
  std::vector<EndedSubscription> take_ended() override;
  void close() override;

 private:
  class Connection;
  struct Subscription;

  Connection& connection_for(const std::string& vhost);
  // Reads what `connection` has without waiting; a completed delivery, if any.
  std::optional<SamplerDelivery> drain(Connection& connection);
  std::optional<SamplerDelivery> handle_method(Connection& connection, std::uint16_t channel,
                                               std::uint32_t id, void* decoded);
  void advance(Subscription& sub, std::uint32_t answered);
  void end(Subscription& sub, std::string reason);
  void forget(Subscription& sub);

  AmqpSamplerOptions options_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::map<std::uint64_t, std::unique_ptr<Subscription>> subs_;  // by id
  std::map<ResourceKey, std::uint64_t> by_exchange_;             // the live ones
  std::vector<EndedSubscription> ended_;
  std::uint64_t next_id_ = 1;
  std::mt19937_64 queue_names_{std::random_device{}()};
};

}  // namespace authsvc
