#pragma once
// The broker as the guardian uses it: its listings, three removals, and a
// queue's cap.
// ManagementApi (management_api.h) is the implementation, over RabbitMQ's
// management HTTP API; the guardian's tests use an in-memory fake.
//
// A call returns what the broker answered or throws BrokerError (an
// authsvc::Error): a guardian that deletes queues must never act on an
// answer it could not read.

#include <string>
#include <vector>

#include "authsvc/core/error.h"
#include "authsvc/guardian/broker_records.h"

namespace authsvc {

class BrokerError : public Error {
 public:
  using Error::Error;
};

class Broker {
 public:
  virtual ~Broker() = default;

  // Everything the guardian's account can see, in all vhosts.
  virtual std::vector<QueueInfo> queues() = 0;
  virtual std::vector<ExchangeInfo> exchanges() = 0;
  // For the exchange directory (exchange_directory.h): the exchanges with
  // their publish rates, and every binding. A broker that cannot say
  // gives the plain listing and no binding.
  virtual std::vector<ExchangeInfo> exchanges_with_rates() { return exchanges(); }
  virtual std::vector<BindingInfo> bindings() { return {}; }
  virtual std::vector<ConnectionInfo> connections() = 0;
  // For the report card (report_card.h): the open channels and every
  // consumer. A broker that cannot say gives none.
  virtual std::vector<ChannelInfo> channels() { return {}; }
  virtual std::vector<ConsumerInfo> consumers() { return {}; }
  // The names in the broker's own (internal) user database: the operators'
  // accounts, and users left behind by a migration. authsvc's users are not
  // there; a name in both is a second way in (backends are tried in turn).
  virtual std::vector<std::string> internal_users() = 0;

  // Each returns true if it removed the thing, false if there was no such
  // thing: removing is idempotent, so one gone between listing and removing
  // is no error.
  // The queue goes with its messages, whatever its consumers.
  virtual bool delete_queue(const std::string& vhost, const std::string& name) = 0;
  virtual bool delete_exchange(const std::string& vhost, const std::string& name) = 0;
  // The broker sends the client `reason` in its connection.close, so it is
  // short, free of secrets, and without control characters (BrokerError).
  virtual bool close_connection(const std::string& name, const std::string& reason) = 0;

  // Holds `queue` at `max_length` ready messages with the guardian's own
  // operator policy (queue_cap.h), made again if it is there already. The
  // operator's own operator policies are not changed: the cap takes the
  // definition of the one that applies to the queue, with the max-length,
  // at a priority above theirs, so the queue keeps what it had.
  virtual void cap_queue(const QueueInfo& queue, std::int64_t max_length) = 0;
  // Removes the guardian's cap on the queue; false if there was none.
  virtual bool uncap_queue(const std::string& vhost, const std::string& name) = 0;
};

}  // namespace authsvc
