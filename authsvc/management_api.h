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
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace httplib {
class ClientImpl;
}

namespace authsvc {

// Network failures, timeouts, answers other than 2xx (the message names the
// status, e.g. "HTTP 401"), malformed or mistyped JSON, and bad options.
class ManagementError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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

struct QueueInfo {
  std::string vhost;
  std::string name;
  // Ready plus unacknowledged messages. nullopt when the broker does not
  // report it (absent or null: stats not in yet, or the queue's node is
  // down): unknown is not empty, and the caller decides.
  std::optional<std::int64_t> messages;
  bool durable = false;
  bool auto_delete = false;
  bool exclusive = false;
};

struct ExchangeInfo {
  std::string vhost;
  std::string name;  // "" for the default exchange
  std::string type;  // "direct", "topic", ... or a plugin's type
  bool durable = false;
  bool auto_delete = false;
  bool internal = false;
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

class ManagementApi {
 public:
  // Validates the options (throws ManagementError); connects only on the
  // first call.
  explicit ManagementApi(ManagementOptions options);
  ~ManagementApi();
  ManagementApi(const ManagementApi&) = delete;
  ManagementApi& operator=(const ManagementApi&) = delete;

  // Everything the user can see, in all vhosts.
  std::vector<QueueInfo> queues();
  std::vector<ExchangeInfo> exchanges();
  std::vector<ConnectionInfo> connections();

  // True if deleted, false if there was no such queue (404): deleting is
  // idempotent, so a queue gone between listing and deleting is no error.
  // The queue goes with its messages, whatever its consumers.
  bool delete_queue(const std::string& vhost, const std::string& name);

  // Closes a client connection; the broker sends the client `reason` in its
  // connection.close (so keep it short and free of secrets). True if
  // closed, false if there was no such connection (404). Throws
  // ManagementError if `reason` has control characters.
  // DELETE /api/exchanges/VHOST/NAME; false if it was gone already.
  bool delete_exchange(const std::string& vhost, const std::string& name);
  bool close_connection(const std::string& name, const std::string& reason);

  // The URL requests go to, for messages (it never holds credentials).
  const std::string& url() const { return url_; }

 private:
  std::string get(const std::string& path_and_query);
  bool remove(const std::string& path, const std::string& reason);

  std::string url_;     // normalized: scheme://host:port/prefix without the trailing '/'
  std::string prefix_;  // "" or "/prefix"
  std::unique_ptr<httplib::ClientImpl> client_;
};

// `s` percent-encoded as one URL path segment: everything but RFC 3986's
// unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX, '/' included,
// so vhost "/" is "%2F" and "a b->c" is "a%20b-%3Ec".
std::string encode_path_segment(const std::string& s);

}  // namespace authsvc
