#include "authsvc/server/guardian_metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace authsvc {
namespace {

std::chrono::steady_clock::time_point last_look(const GuardianFigures& f) {
  return std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(f.last_look.load(std::memory_order_relaxed)));
}

double value(const std::atomic<std::uint64_t>& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

}  // namespace

void register_guardian_metrics(MetricsRegistry& registry, const Guardian& guardian) {
  using Type = MetricsRegistry::Type;
  const GuardianFigures& f = guardian.figures();
  registry.add("authsvc_guardian_looks_total", Type::counter,
               "Looks at the broker and the store, by whether they could be made.",
               {{"result", "ok"}}, [&f] { return value(f.ok_looks); });
  registry.add("authsvc_guardian_looks_total", Type::counter, "", {{"result", "failed"}},
               [&f] { return value(f.failed_looks); });
  registry.add("authsvc_guardian_look_duration_seconds",
               "How long a look and its actions and mail took.", {}, f.look_duration);
  registry.add("authsvc_guardian_last_look_timestamp_seconds", Type::gauge,
               "When the last look that succeeded ended, in seconds since the Unix epoch (0: "
               "none yet).",
               {}, [&f] {
                 if (f.last_look.load(std::memory_order_relaxed) == 0) return 0.0;
                 auto ago = std::chrono::steady_clock::now() - last_look(f);
                 return std::chrono::duration<double>(
                            (std::chrono::system_clock::now() - ago).time_since_epoch())
                     .count();
               });
  registry.add("authsvc_guardian_leader", Type::gauge,
               "1 while this guardian holds the lead and acts, 0 while it stands by for "
               "another node's.",
               {}, [&f] { return f.leading.load(std::memory_order_relaxed) ? 1.0 : 0.0; });
  registry.add("authsvc_guardian_leads_taken_total", Type::counter,
               "How often this guardian took the lead.", {}, [&f] { return value(f.leads_taken); });
  registry.add("authsvc_guardian_queues_seen", Type::gauge,
               "Queues the broker listed at the last look.", {},
               [&f] { return value(f.queues_seen); });
  for (std::size_t kind = 0; kind < GuardianFigures::kKinds; ++kind) {
    registry.add("authsvc_guardian_actions_total", Type::counter,
                 "Actions taken (in a dry run, that would have been), by kind: queue warn, "
                 "queue delete, connection close...",
                 {{"action", to_string(static_cast<GuardianAction::Kind>(kind))}},
                 [&f, kind] { return value(f.actions[kind]); });
  }
  registry.add("authsvc_guardian_action_failures_total", Type::counter,
               "Actions that failed (each is planned again at the next look).", {},
               [&f] { return value(f.action_failures); });
  registry.add("authsvc_guardian_mails_sent_total", Type::counter, "Mails the mail server took.",
               {}, [&f] { return value(f.mails_sent); });
  registry.add("authsvc_guardian_mails_failed_total", Type::counter,
               "Attempts to send a mail that failed (turned down, or no usable server).", {},
               [&f] { return value(f.mails_failed); });
  registry.add("authsvc_guardian_mails_dropped_total", Type::counter,
               "Mails given up on after their last attempt.", {},
               [&f] { return value(f.mails_dropped); });
}

void register_sampler_metrics(MetricsRegistry& registry, const MessageSampler& sampler) {
  using Type = MetricsRegistry::Type;
  const SamplerFigures& f = sampler.figures();
  registry.add("authsvc_sampler_messages_inspected_total", Type::counter,
               "Messages the sampler took from the Pulse exchanges and inspected.", {},
               [&f] { return value(f.inspected); });
  registry.add("authsvc_sampler_violating_messages_total", Type::counter,
               "Inspected messages that broke at least one of the specification's rules.", {},
               [&f] { return value(f.violations); });
  registry.add("authsvc_sampler_exchanges", Type::gauge,
               "Exchanges the sampler has a queue on now.", {},
               [&f] { return value(f.exchanges); });
  registry.add("authsvc_sampler_connected", Type::gauge,
               "1 while the sampler is connected to the broker, 0 while not (or standing by).", {},
               [&f] { return f.connected.load(std::memory_order_relaxed) ? 1.0 : 0.0; });
  registry.add("authsvc_sampler_connection_losses_total", Type::counter,
               "Times the sampler lost the broker (each outage once).", {},
               [&f] { return value(f.connection_losses); });
  registry.add("authsvc_sampler_mails_queued_total", Type::counter,
               "Mails about violations queued for the exchanges' owners.", {},
               [&f] { return value(f.mails_queued); });
}

std::string guardian_problem(const Guardian& guardian, std::chrono::seconds max_age) {
  const GuardianFigures& f = guardian.figures();
  // A standby is healthy: it waits for the lead, and looks at nothing.
  if (!f.leading.load(std::memory_order_relaxed)) return "";
  const auto limit = max_age + guardian.options().interval;
  const double limit_s = std::chrono::duration<double>(limit).count();
  if (f.last_look.load(std::memory_order_relaxed) == 0) {
    return fmt::format("no look at the broker has succeeded yet ({} failed)",
                       f.failed_looks.load(std::memory_order_relaxed));
  }
  // A look from before this node last took the lead is old news: count
  // from when it took it.
  const auto since = std::max(
      last_look(f), std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(
                        f.lead_since.load(std::memory_order_relaxed))));
  auto age = std::chrono::steady_clock::now() - since;
  if (age <= limit) return "";
  return fmt::format(
      "the last look at the broker that succeeded ended {:.1f} s ago (limit {:.1f} s)",
      std::chrono::duration<double>(age).count(), limit_s);
}

std::string guardian_loop_problem(const Guardian& guardian) {
  const auto due = guardian.figures().next_look.load(std::memory_order_relaxed);
  if (due == 0) return "";  // the loop starts right after the process says it is ready
  const auto overdue =
      std::chrono::steady_clock::now() -
      std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(due));
  if (overdue <= kGuardianLookLimit) return "";
  return fmt::format(
      "the guardian's loop is stuck: its look has been due for {:.0f} s (limit {} s)",
      std::chrono::duration<double>(overdue).count(),
      std::chrono::seconds(kGuardianLookLimit).count());
}

}  // namespace authsvc
