#pragma once
// A client for the RabbitMQ management HTTP API (the rabbitmq_management
// plugin), limited to what the guardian needs: list queues, exchanges and
// connections; delete a queue; close a connection.
//
//   ManagementOptions options;
//   options.url = "http://127.0.0.1:15672";
//   options.user = "guardian";
//   options.password = read_password_file("/etc/authsvc/management.pw");
//   ManagementApi api(options);
//   for (const QueueInfo& q : api.queues()) ...
//   api.delete_queue("/", "queue/alice/jobs");   // false: it was gone already
//
// Every call is one request, with HTTP basic auth, on a fresh connection
// (the guardian polls minutes apart: nothing worth keeping alive), bounded
// by `timeout`. A call either returns what the broker answered or throws
// ManagementError; the password never appears in an error message.
//
// Listings ask only for the columns they return, and queues and exchanges
// with disable_stats=true (plus enable_queue_totals=true for the message
// count): with thousands of queues the full objects are megabytes, and
// collecting their rates costs the broker more than the listing itself.
// Checked against RabbitMQ 3.10.8.
//
// Parsing is tolerant of missing fields (each has a default, below) and
// strict about types: a field of the wrong JSON type, an answer that is not
// an array of objects, or an item without its vhost or name is a
// ManagementError, since a guardian that deletes queues must not act on an
// answer it misread.
//
// Not thread-safe: use one ManagementApi per thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authsvc/guardian/broker.h"

namespace httplib {
class ClientImpl;
}

namespace authsvc {

// Network failures, timeouts, answers other than 2xx (the message names the
// status, e.g. "HTTP 401"), malformed or mistyped JSON, and bad options.
class ManagementError : public BrokerError {
 public:
  using BrokerError::BrokerError;
};

struct ManagementOptions {
  // http://host[:port][/prefix] or https://...; the prefix is the
  // management.path_prefix of the broker, if any. Credentials go in `user`
  // and `password`, never in the URL. https verifies the broker's
  // certificate against the system's CAs and its host name.
  std::string url;
  std::string user;
  std::string password;
  // For connecting, and for each read or write on the connection.
  std::chrono::milliseconds timeout{10000};
};

class ManagementApi : public Broker {
 public:
  // Validates the options (throws ManagementError); connects only on the
  // first call.
  explicit ManagementApi(ManagementOptions options);
  ~ManagementApi() override;
  ManagementApi(const ManagementApi&) = delete;
  ManagementApi& operator=(const ManagementApi&) = delete;

  std::vector<QueueInfo> queues() override;
  std::vector<ExchangeInfo> exchanges() override;
  // The same with each one's publish rate: the statistics cost the broker
  // more, so the guardian's looks do without them.
  std::vector<ExchangeInfo> exchanges_with_rates() override;
  // /api/bindings: every binding in every vhost (the default exchange's
  // implicit ones are listed with source "").
  std::vector<BindingInfo> bindings() override;
  std::vector<ConnectionInfo> connections() override;
  // /api/channels (which has no disable_stats: the broker's statistics are
  // all it knows of channels) and /api/consumers.
  std::vector<ChannelInfo> channels() override;
  std::vector<ConsumerInfo> consumers() override;
  // /api/users: the internal database's users (the http backend's are not
  // listed; the administrator tag is needed to see them).
  std::vector<std::string> internal_users() override;
  // DELETE /api/queues/VHOST/NAME, /api/exchanges/VHOST/NAME, and
  // /api/connections/NAME with the reason in X-Reason; 404 is false.
  bool delete_queue(const std::string& vhost, const std::string& name) override;
  bool delete_exchange(const std::string& vhost, const std::string& name) override;
  bool close_connection(const std::string& name, const std::string& reason) override;
  // PUT and DELETE /api/operator-policies/VHOST/authsvc-cap-...; the
  // account needs the administrator tag (it has it for /api/users).
  void cap_queue(const QueueInfo& queue, std::int64_t max_length) override;
  bool uncap_queue(const std::string& vhost, const std::string& name) override;

  // The URL requests go to, for messages (it never holds credentials).
  const std::string& url() const { return url_; }

 private:
  std::string get(const std::string& path_and_query);
  void put(const std::string& path, const std::string& json_body);
  bool remove(const std::string& path, const std::string& reason);

  std::string url_;     // normalized: scheme://host:port/prefix without the trailing '/'
  std::string prefix_;  // "" or "/prefix"
  std::unique_ptr<httplib::ClientImpl> client_;
};

}  // namespace authsvc
