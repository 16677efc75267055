#pragma once
// The broker-facing figures every answer counts: decisions by endpoint,
// result and rule (authsvc_decisions_total), and how long each answer took
// (authsvc_request_duration_seconds). On the hot path: a hash lookup of the
// rule's name in a table built at start and two relaxed atomic increments,
// no lock and no allocation.
//
// Label values come from a closed set, never from the request: the endpoint
// is one of the four or "other" (an unknown path is an attacker's to
// choose), and the rule is one the rules file or the built-in checks name.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "authsvc/core/metrics.h"
#include "authsvc/core/rules.h"

namespace authsvc {

class DecisionMetrics {
 public:
  static constexpr std::array<std::string_view, 5> kEndpoints = {"user", "vhost", "resource",
                                                                 "topic", "other"};
  // The names a decision's rule can take: the built-in checks, and the rules'.
  explicit DecisionMetrics(const Rules& rules);

  void record(std::string_view endpoint, bool allow, std::string_view rule,
              std::uint64_t duration_ns);
  // A request refused before it was decided (the listener's refusals): a
  // denial, without a duration.
  void refused(std::string_view endpoint, std::string_view rule);

  // authsvc_decisions_total, authsvc_request_duration_seconds and
  // authsvc_logins_throttled_total.
  void register_in(MetricsRegistry& registry) const;

  // For tests: the count of one label set.
  std::uint64_t value(std::string_view endpoint, bool allow, std::string_view rule) const;

 private:
  struct PerRule {
    std::array<std::array<Counter, 2>, kEndpoints.size()> by_endpoint_result;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  PerRule& per_rule(std::string_view rule);
  const PerRule* find(std::string_view rule) const;

  // Built once, read without a lock.
  std::unordered_map<std::string, std::unique_ptr<PerRule>, Hash, std::equal_to<>> known_;
  // A rule name the constructor did not foresee: counted under its name up
  // to a bound, then as "other", so that nothing can grow the table.
  static constexpr std::size_t kMaxUnforeseen = 64;
  mutable std::mutex unforeseen_mutex_;
  std::map<std::string, std::unique_ptr<PerRule>, std::less<>> unforeseen_;
  PerRule other_;
  std::array<std::unique_ptr<Histogram>, kEndpoints.size()> durations_;
  Counter throttled_;
};

}  // namespace authsvc
