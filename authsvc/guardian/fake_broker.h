#pragma once
// For tests only: the broker as the guardian sees it, in memory.

#include <string>
#include <vector>

#include "authsvc/guardian/broker.h"

namespace authsvc::testing {

// The broker as the guardian sees it, in memory: the listings a test sets,
// and every removal the guardian asks for. A removal leaves the listings as
// they are, as the management API's listings lag a deletion; a test changes
// them itself.
class FakeBroker : public Broker {
 public:
  std::vector<QueueInfo> queue_list;
  std::vector<ExchangeInfo> exchange_list;
  std::vector<ConnectionInfo> connection_list;
  std::vector<std::string> internal_user_list;
  // Each removal asked for, answered or refused: "delete queue '/' 'NAME'",
  // "delete exchange '/' 'NAME'", "close connection 'NAME' (REASON)"; and
  // each cap: "cap queue '/' 'NAME' at N" (" over 'POLICY'" if the queue
  // had an operator policy), "uncap queue '/' 'NAME'".
  std::vector<std::string> removals;
  bool unreachable = false;      // every call throws BrokerError
  bool refuse_removals = false;  // removals throw BrokerError; listings still answer
  bool gone = false;             // removals answer false: there was no such thing

  std::vector<QueueInfo> queues() override {
    answer();
    return queue_list;
  }
  std::vector<ExchangeInfo> exchanges() override {
    answer();
    return exchange_list;
  }
  std::vector<ConnectionInfo> connections() override {
    answer();
    return connection_list;
  }
  std::vector<std::string> internal_users() override {
    answer();
    return internal_user_list;
  }
  bool delete_queue(const std::string& vhost, const std::string& name) override {
    return remove("delete queue '" + vhost + "' '" + name + "'");
  }
  bool delete_exchange(const std::string& vhost, const std::string& name) override {
    return remove("delete exchange '" + vhost + "' '" + name + "'");
  }
  bool close_connection(const std::string& name, const std::string& reason) override {
    return remove("close connection '" + name + "' (" + reason + ")");
  }
  // As the broker does, the cap shows in the listing at once.
  void cap_queue(const QueueInfo& queue, std::int64_t max_length) override {
    remove("cap queue '" + queue.vhost + "' '" + queue.name + "' at " + std::to_string(max_length) +
           (queue.operator_policy.empty() ? "" : " over '" + queue.operator_policy + "'"));
    for (QueueInfo& q : queue_list) {
      if (q.vhost == queue.vhost && q.name == queue.name) q.capped_by_guardian = true;
    }
  }
  bool uncap_queue(const std::string& vhost, const std::string& name) override {
    bool had = remove("uncap queue '" + vhost + "' '" + name + "'");
    for (QueueInfo& q : queue_list) {
      if (q.vhost == vhost && q.name == name) q.capped_by_guardian = false;
    }
    return had;
  }

 private:
  void answer() const {
    if (unreachable) throw BrokerError("fake broker: unreachable");
  }
  bool remove(std::string what) {
    answer();
    removals.push_back(std::move(what));
    if (refuse_removals) throw BrokerError("fake broker: refused");
    return !gone;
  }
};

}  // namespace authsvc::testing
