#include "authsvc/guardian/amqp_sampler_link.h"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

#include "authsvc/core/text.h"
#include "authsvc/guardian/exchange_directory.h"

namespace authsvc {

namespace {

// The broker's heartbeat, in seconds: a connection silent for twice this
// is lost (rabbitmq-c notices it while reading).
constexpr int kHeartbeatSeconds = 30;
constexpr int kFrameMax = 131072;

std::string text_of(amqp_bytes_t bytes) {
  return bytes.len == 0 ? std::string()
                        : std::string(static_cast<const char*>(bytes.bytes), bytes.len);
}

amqp_bytes_t bytes_of(const std::string& text) {
  return amqp_bytes_t{text.size(), const_cast<char*>(text.data())};
}

timeval timeval_of(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

// What the broker or the library said, in one printable line.
std::string reply_text(const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "no answer";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return fmt::format("{} {}", close->reply_code, printable(text_of(close->reply_text)));
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        return fmt::format("{} {}", close->reply_code, printable(text_of(close->reply_text)));
      }
      return fmt::format("the broker's method {:#x}", reply.reply.id);
  }
  return "an unknown answer";
}

amqp_table_entry_t long_entry(const char* key, std::int64_t value) {
  amqp_table_entry_t entry{};
  entry.key = amqp_cstring_bytes(key);
  entry.value.kind = AMQP_FIELD_KIND_I64;
  entry.value.value.i64 = value;
  return entry;
}

// `value` must outlive the entry's use.
amqp_table_entry_t text_entry(const char* key, amqp_bytes_t value) {
  amqp_table_entry_t entry{};
  entry.key = amqp_cstring_bytes(key);
  entry.value.kind = AMQP_FIELD_KIND_UTF8;
  entry.value.value.bytes = value;
  return entry;
}

}  // namespace

class AmqpSamplerLink::Connection {
 public:
  Connection(const AmqpSamplerOptions& options, std::string vhost)
      : vhost_(std::move(vhost)),
        where_(fmt::format("{}:{} (vhost {})", options.host, options.port, printable(vhost_))) {
    state_.reset(amqp_new_connection());
    if (!state_) throw BrokerError("AMQP: cannot allocate a connection");
    amqp_socket_t* socket =
        options.tls ? amqp_ssl_socket_new(state()) : amqp_tcp_socket_new(state());
    if (socket == nullptr) fail("cannot create a socket");
    if (options.tls) {
      if (!options.ca_file.empty()) {
        int rc = amqp_ssl_socket_set_cacert(socket, options.ca_file.c_str());
        if (rc != AMQP_STATUS_OK)
          fail(fmt::format("cannot read the CA file {}: {}", options.ca_file,
                           amqp_error_string2(rc)));
      }
      amqp_ssl_socket_set_verify_peer(socket, 1);
      amqp_ssl_socket_set_verify_hostname(socket, 1);
    }
    timeval timeout = timeval_of(options.connect_timeout);
    amqp_set_handshake_timeout(state(), &timeout);
    amqp_set_rpc_timeout(state(), &timeout);
    int rc = amqp_socket_open_noblock(socket, options.host.c_str(), options.port, &timeout);
    if (rc != AMQP_STATUS_OK) fail(fmt::format("cannot connect: {}", amqp_error_string2(rc)));
    amqp_table_entry_t name = text_entry("connection_name", bytes_of(options.connection_name));
    amqp_table_t properties{1, &name};
    amqp_rpc_reply_t reply = amqp_login_with_properties(
        state(), vhost_.c_str(), 0, kFrameMax, kHeartbeatSeconds, &properties,
        AMQP_SASL_METHOD_PLAIN, options.user.c_str(), options.password.c_str());
    if (reply.reply_type != AMQP_RESPONSE_NORMAL)
      fail(fmt::format("cannot log in as {}: {}", options.user, reply_text(reply)));
    // Channel 0 is the connection's own; the broker says how many more.
    int channel_max = amqp_get_channel_max(state());
    capacity_ =
        std::min<std::size_t>(options.channels_per_connection,
                              channel_max > 0 ? static_cast<std::size_t>(channel_max) : 2047);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[noreturn]] void fail(const std::string& what) const {
    throw BrokerError(fmt::format("AMQP {}: {}", where_, what));
  }
  void send(std::uint16_t channel, amqp_method_number_t method, void* decoded) {
    int rc = amqp_send_method(state(), channel, method, decoded);
    if (rc != AMQP_STATUS_OK) fail(fmt::format("lost the connection: {}", amqp_error_string2(rc)));
  }

  amqp_connection_state_t state() const { return state_.get(); }
  const std::string& vhost() const { return vhost_; }
  bool full() const { return channels_.size() >= capacity_; }
  // The lowest channel number free, now taken by `sub`.
  std::uint16_t take_channel(std::uint64_t sub) {
    std::uint16_t channel = 1;
    for (const auto& [used, id] : channels_) {
      if (used != channel) break;
      ++channel;
    }
    channels_[channel] = sub;
    return channel;
  }
  void free_channel(std::uint16_t channel) { channels_.erase(channel); }
  std::optional<std::uint64_t> sub_on(std::uint16_t channel) const {
    auto found = channels_.find(channel);
    if (found == channels_.end()) return std::nullopt;
    return found->second;
  }

 private:
  // Destroyed (its socket closed) however the constructor ends.
  struct Destroy {
    void operator()(amqp_connection_state_t state) const { amqp_destroy_connection(state); }
  };
  std::unique_ptr<amqp_connection_state_t_, Destroy> state_;
  std::string vhost_;
  std::string where_;
  std::size_t capacity_ = 0;
  std::map<std::uint16_t, std::uint64_t> channels_;  // in use -> subscription id
};

struct AmqpSamplerLink::Subscription {
  enum class Step { opening, declaring, binding, limiting, starting, consuming, closing };
  std::uint64_t id = 0;
  ResourceKey exchange;
  Connection* connection = nullptr;
  std::uint16_t channel = 0;
  Step step = Step::opening;
  std::string queue;
  // The delivery being read: its method, then its header, then its body.
  bool receiving = false;
  bool has_header = false;
  std::uint64_t received = 0;
  SamplerDelivery delivery;
};

AmqpSamplerLink::AmqpSamplerLink(AmqpSamplerOptions options) : options_(std::move(options)) {}

AmqpSamplerLink::~AmqpSamplerLink() = default;

AmqpSamplerLink::Connection& AmqpSamplerLink::connection_for(const std::string& vhost) {
  for (const auto& connection : connections_) {
    if (connection->vhost() == vhost && !connection->full()) return *connection;
  }
  connections_.push_back(std::make_unique<Connection>(options_, vhost));
  return *connections_.back();
}

void AmqpSamplerLink::subscribe(const ResourceKey& exchange) {
  if (by_exchange_.contains(exchange)) return;
  Connection& connection = connection_for(exchange.vhost);
  auto sub = std::make_unique<Subscription>();
  sub->id = next_id_++;
  sub->exchange = exchange;
  sub->connection = &connection;
  sub->channel = connection.take_channel(sub->id);
  Subscription& s = *sub;
  subs_[s.id] = std::move(sub);
  by_exchange_[exchange] = s.id;
  amqp_channel_open_t open{};
  open.out_of_band = amqp_empty_bytes;
  connection.send(s.channel, AMQP_CHANNEL_OPEN_METHOD, &open);
}

void AmqpSamplerLink::unsubscribe(const ResourceKey& exchange) {
  auto found = by_exchange_.find(exchange);
  if (found == by_exchange_.end()) return;
  Subscription& sub = *subs_.at(found->second);
  by_exchange_.erase(found);
  sub.step = Subscription::Step::closing;
  amqp_channel_close_t close{};
  close.reply_code = AMQP_REPLY_SUCCESS;
  close.reply_text = amqp_cstring_bytes("the sampler is done with this exchange");
  // Its number is reused only after the broker's close-ok (forget()).
  sub.connection->send(sub.channel, AMQP_CHANNEL_CLOSE_METHOD, &close);
}

std::vector<ResourceKey> AmqpSamplerLink::subscriptions() const {
  std::vector<ResourceKey> keys;
  for (const auto& [key, id] : by_exchange_) keys.push_back(key);
  return keys;
}

void AmqpSamplerLink::ack(const SamplerDelivery& delivery) {
  auto found = subs_.find(delivery.subscription);
  if (found == subs_.end() || found->second->step == Subscription::Step::closing) return;
  Subscription& sub = *found->second;
  int rc = amqp_basic_ack(sub.connection->state(), sub.channel, delivery.tag, 0);
  if (rc != AMQP_STATUS_OK)
    sub.connection->fail(fmt::format("lost the connection: {}", amqp_error_string2(rc)));
}

std::vector<EndedSubscription> AmqpSamplerLink::take_ended() {
  std::vector<EndedSubscription> ended;
  ended.swap(ended_);
  return ended;
}

void AmqpSamplerLink::close() {
  subs_.clear();
  by_exchange_.clear();
  // Destroying a connection closes its socket: the broker deletes its
  // exclusive queues.
  connections_.clear();
}

void AmqpSamplerLink::end(Subscription& sub, std::string reason) {
  auto found = by_exchange_.find(sub.exchange);
  if (found != by_exchange_.end() && found->second == sub.id) {
    by_exchange_.erase(found);
    ended_.push_back(EndedSubscription{sub.exchange, std::move(reason)});
  }
}

void AmqpSamplerLink::forget(Subscription& sub) {
  sub.connection->free_channel(sub.channel);
  subs_.erase(sub.id);
}

void AmqpSamplerLink::advance(Subscription& sub, std::uint32_t answered) {
  using Step = Subscription::Step;
  Connection& connection = *sub.connection;
  if (sub.step == Step::opening && answered == AMQP_CHANNEL_OPEN_OK_METHOD) {
    amqp_table_entry_t arguments[] = {
        long_entry("x-max-length", options_.queue_messages),
        long_entry("x-max-length-bytes", options_.queue_bytes),
        long_entry("x-message-ttl", options_.message_ttl.count()),
        text_entry("x-overflow", amqp_cstring_bytes("drop-head")),
    };
    // Named so that the exchange directory knows it is no consumer's
    // (exchange_directory.h); random, as another node's sampler may have
    // had its name, and an exclusive queue of another connection refuses.
    sub.queue = fmt::format("{}{:016x}", kSamplerQueuePrefix, queue_names_());
    amqp_queue_declare_t declare{};
    declare.queue = bytes_of(sub.queue);
    declare.exclusive = 1;
    declare.auto_delete = 1;
    declare.arguments = amqp_table_t{static_cast<int>(std::size(arguments)), arguments};
    connection.send(sub.channel, AMQP_QUEUE_DECLARE_METHOD, &declare);
    sub.step = Step::declaring;
  } else if (sub.step == Step::declaring && answered == AMQP_QUEUE_DECLARE_OK_METHOD) {
    amqp_queue_bind_t bind{};
    bind.queue = bytes_of(sub.queue);
    bind.exchange = bytes_of(sub.exchange.name);
    bind.routing_key = amqp_cstring_bytes("#");
    bind.arguments = amqp_empty_table;
    connection.send(sub.channel, AMQP_QUEUE_BIND_METHOD, &bind);
    sub.step = Step::binding;
  } else if (sub.step == Step::binding && answered == AMQP_QUEUE_BIND_OK_METHOD) {
    amqp_basic_qos_t qos{};
    qos.prefetch_count = 1;
    connection.send(sub.channel, AMQP_BASIC_QOS_METHOD, &qos);
    sub.step = Step::limiting;
  } else if (sub.step == Step::limiting && answered == AMQP_BASIC_QOS_OK_METHOD) {
    amqp_basic_consume_t consume{};
    consume.queue = bytes_of(sub.queue);
    consume.consumer_tag = amqp_empty_bytes;
    consume.exclusive = 1;
    consume.arguments = amqp_empty_table;
    connection.send(sub.channel, AMQP_BASIC_CONSUME_METHOD, &consume);
    sub.step = Step::starting;
  } else if (sub.step == Step::starting && answered == AMQP_BASIC_CONSUME_OK_METHOD) {
    sub.step = Step::consuming;
  }
}

std::optional<SamplerDelivery> AmqpSamplerLink::handle_method(Connection& connection,
                                                              std::uint16_t channel,
                                                              std::uint32_t id, void* decoded) {
  if (channel == 0) {
    if (id == AMQP_CONNECTION_CLOSE_METHOD) {
      const auto* close = static_cast<const amqp_connection_close_t*>(decoded);
      std::string reason =
          fmt::format("{} {}", close->reply_code, printable(text_of(close->reply_text)));
      amqp_connection_close_ok_t ok{};
      amqp_send_method(connection.state(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      connection.fail("the broker closed the connection: " + reason);
    }
    return std::nullopt;  // connection.blocked and unblocked: nothing to do
  }
  std::optional<std::uint64_t> sub_id = connection.sub_on(channel);
  if (!sub_id) {
    if (id == AMQP_CHANNEL_CLOSE_METHOD) {
      amqp_channel_close_ok_t ok{};
      connection.send(channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    }
    return std::nullopt;
  }
  Subscription& sub = *subs_.at(*sub_id);
  switch (id) {
    case AMQP_BASIC_DELIVER_METHOD: {
      const auto* deliver = static_cast<const amqp_basic_deliver_t*>(decoded);
      sub.receiving = true;
      sub.has_header = false;
      sub.received = 0;
      sub.delivery = SamplerDelivery{};
      sub.delivery.subscription = sub.id;
      sub.delivery.tag = deliver->delivery_tag;
      sub.delivery.message.exchange = sub.exchange;
      sub.delivery.message.routing_key = text_of(deliver->routing_key);
      return std::nullopt;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      const auto* close = static_cast<const amqp_channel_close_t*>(decoded);
      std::string reason =
          fmt::format("{} {}", close->reply_code, printable(text_of(close->reply_text)));
      amqp_channel_close_ok_t ok{};
      connection.send(channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      end(sub, "the broker closed its channel: " + reason);
      forget(sub);
      return std::nullopt;
    }
    case AMQP_CHANNEL_CLOSE_OK_METHOD:
      forget(sub);
      return std::nullopt;
    case AMQP_BASIC_CANCEL_METHOD: {
      // The broker ended the consumer: its queue was deleted.
      end(sub, "the broker cancelled its consumer (its queue was deleted)");
      sub.step = Subscription::Step::closing;
      amqp_channel_close_t close{};
      close.reply_code = AMQP_REPLY_SUCCESS;
      close.reply_text = amqp_cstring_bytes("consumer cancelled");
      connection.send(channel, AMQP_CHANNEL_CLOSE_METHOD, &close);
      return std::nullopt;
    }
    default:
      advance(sub, id);
      return std::nullopt;
  }
}

std::optional<SamplerDelivery> AmqpSamplerLink::drain(Connection& connection) {
  for (;;) {
    amqp_frame_t frame{};
    timeval zero{};
    int rc = amqp_simple_wait_frame_noblock(connection.state(), &frame, &zero);
    if (rc == AMQP_STATUS_TIMEOUT) return std::nullopt;
    if (rc != AMQP_STATUS_OK)
      connection.fail(fmt::format("lost the connection: {}", amqp_error_string2(rc)));
    std::optional<SamplerDelivery> done;
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      done = handle_method(connection, frame.channel, frame.payload.method.id,
                           frame.payload.method.decoded);
    } else if (frame.frame_type == AMQP_FRAME_HEADER || frame.frame_type == AMQP_FRAME_BODY) {
      std::optional<std::uint64_t> sub_id = connection.sub_on(frame.channel);
      auto found = sub_id ? subs_.find(*sub_id) : subs_.end();
      if (found != subs_.end() && found->second->receiving) {
        Subscription& sub = *found->second;
        SampledMessage& message = sub.delivery.message;
        if (frame.frame_type == AMQP_FRAME_HEADER && !sub.has_header) {
          sub.has_header = true;
          message.size = frame.payload.properties.body_size;
          const auto* properties =
              static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded);
          if (properties != nullptr) {
            if (properties->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
              message.content_type = text_of(properties->content_type);
            if (properties->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG)
              message.delivery_mode = properties->delivery_mode;
          }
          message.payload.reserve(std::min<std::uint64_t>(message.size, options_.max_payload));
        } else if (frame.frame_type == AMQP_FRAME_BODY && sub.has_header) {
          const amqp_bytes_t& fragment = frame.payload.body_fragment;
          std::size_t room = options_.max_payload - message.payload.size();
          message.payload.append(static_cast<const char*>(fragment.bytes),
                                 std::min(room, fragment.len));
          sub.received += fragment.len;
        }
        if (sub.has_header && sub.received >= message.size) {
          sub.receiving = false;
          // One that came after the sampler let go of the exchange is not
          // a sample of it any more.
          if (sub.step != Subscription::Step::closing) done = std::move(sub.delivery);
        }
      }
    }
    amqp_maybe_release_buffers_on_channel(connection.state(), frame.channel);
    if (done) return done;
  }
}

std::optional<SamplerDelivery> AmqpSamplerLink::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (const auto& connection : connections_) {
      if (std::optional<SamplerDelivery> delivery = drain(*connection)) return delivery;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    if (connections_.empty()) {
      std::this_thread::sleep_for(left);
      return std::nullopt;
    }
    std::vector<pollfd> fds;
    for (const auto& connection : connections_)
      fds.push_back(pollfd{amqp_get_sockfd(connection->state()), POLLIN, 0});
    // At most a second at a time: the heartbeats go out while reading.
    int wait_ms = static_cast<int>(std::min<std::int64_t>(left.count(), 1000));
    if (poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR)
      throw BrokerError(fmt::format("AMQP: cannot wait for the broker: {}", std::strerror(errno)));
  }
}

}  // namespace authsvc
