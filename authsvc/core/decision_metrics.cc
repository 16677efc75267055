#include "authsvc/core/decision_metrics.h"

namespace authsvc {
namespace {

// Every rule a decision or a refusal can name besides the rules file's:
// decision.cc, auth_service.cc and the listener's refusals.
constexpr std::array<std::string_view, 12> kBuiltInRules = {
    "login",          "unknown-user", "disabled-user", "expired-user",
    "no-vhost-grant", "vhost-grant",  "default-deny",  "throttled",
    "no-snapshot",    "bad-request",  "tls",           "internal-user"};

std::size_t endpoint_index(std::string_view endpoint) {
  for (std::size_t i = 0; i + 1 < DecisionMetrics::kEndpoints.size(); ++i) {
    if (endpoint == DecisionMetrics::kEndpoints[i]) return i;
  }
  return DecisionMetrics::kEndpoints.size() - 1;
}

}  // namespace

DecisionMetrics::DecisionMetrics(const Rules& rules) {
  for (std::string_view name : kBuiltInRules) known_.emplace(name, std::make_unique<PerRule>());
  for (const Rule& rule : rules.rules()) known_.emplace(rule.name, std::make_unique<PerRule>());
  for (auto& histogram : durations_) {
    histogram = std::make_unique<Histogram>(request_duration_bounds_ns());
  }
}

DecisionMetrics::PerRule& DecisionMetrics::per_rule(std::string_view rule) {
  if (auto it = known_.find(rule); it != known_.end()) return *it->second;
  std::lock_guard lock(unforeseen_mutex_);
  if (auto it = unforeseen_.find(rule); it != unforeseen_.end()) return *it->second;
  if (unforeseen_.size() >= kMaxUnforeseen) return other_;
  return *unforeseen_.emplace(std::string(rule), std::make_unique<PerRule>()).first->second;
}

const DecisionMetrics::PerRule* DecisionMetrics::find(std::string_view rule) const {
  if (auto it = known_.find(rule); it != known_.end()) return it->second.get();
  std::lock_guard lock(unforeseen_mutex_);
  if (auto it = unforeseen_.find(rule); it != unforeseen_.end()) return it->second.get();
  return rule == "other" ? &other_ : nullptr;
}

void DecisionMetrics::record(std::string_view endpoint, bool allow, std::string_view rule,
                             std::uint64_t duration_ns) {
  std::size_t e = endpoint_index(endpoint);
  per_rule(rule).by_endpoint_result[e][allow ? 0 : 1].add();
  durations_[e]->observe(duration_ns);
}

void DecisionMetrics::refused(std::string_view endpoint, std::string_view rule) {
  per_rule(rule).by_endpoint_result[endpoint_index(endpoint)][1].add();
}

std::uint64_t DecisionMetrics::value(std::string_view endpoint, bool allow,
                                     std::string_view rule) const {
  const PerRule* counters = find(rule);
  return counters ? counters->by_endpoint_result[endpoint_index(endpoint)][allow ? 0 : 1].value()
                  : 0;
}

void DecisionMetrics::register_in(MetricsRegistry& registry) const {
  registry.add_family(
      "authsvc_decisions_total", MetricsRegistry::Type::counter,
      "Answers to the broker by endpoint, result and the rule or check that decided.",
      [this](std::string* out) {
        auto write = [&](std::string_view rule, const PerRule& counters) {
          for (std::size_t e = 0; e < kEndpoints.size(); ++e) {
            for (int r = 0; r < 2; ++r) {
              std::uint64_t n = counters.by_endpoint_result[e][r].value();
              // Only the combinations that happened: a rule about queues
              // never decides a login.
              if (n == 0) continue;
              write_sample(out, "authsvc_decisions_total",
                           {{"endpoint", std::string(kEndpoints[e])},
                            {"result", r == 0 ? "allow" : "deny"},
                            {"rule", std::string(rule)}},
                           static_cast<double>(n));
            }
          }
        };
        std::map<std::string_view, const PerRule*> sorted;
        for (const auto& [name, counters] : known_) sorted.emplace(name, counters.get());
        for (const auto& [name, counters] : sorted) write(name, *counters);
        std::lock_guard lock(unforeseen_mutex_);
        for (const auto& [name, counters] : unforeseen_) write(name, *counters);
        write("other", other_);
      });
  for (std::size_t e = 0; e < kEndpoints.size(); ++e) {
    registry.add("authsvc_request_duration_seconds",
                 "Time from a broker's request to its answer (the audit line included).",
                 {{"endpoint", std::string(kEndpoints[e])}}, *durations_[e]);
  }
  registry.add("authsvc_logins_throttled_total", MetricsRegistry::Type::counter,
               "Logins refused unchecked because their user is cooling off after failed logins.",
               {}, [this] { return static_cast<double>(value("user", false, "throttled")); });
}

}  // namespace authsvc
