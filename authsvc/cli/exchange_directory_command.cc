// `authsvc exchange list` and `authsvc exchange show NAME`: the live
// directory of Pulse exchanges (guardian/exchange_directory.h), from the
// management API and what the guardian's message sampler recorded.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "authsvc/cli/guardian_cli.h"
#include "authsvc/core/message_inspection.h"
#include "authsvc/core/payload_sample.h"
#include "authsvc/guardian/exchange_directory.h"
#include "authsvc/guardian/management_api.h"

namespace authsvc {

namespace {

// "2026-12-02 14:50:01" (UTC, as the column heads say) of the store's time.
std::string readable_time(const std::string& rfc3339) {
  if (rfc3339.empty()) return "-";
  std::string utc = readable_utc(rfc3339);
  return utc.ends_with(" UTC") ? utc.substr(0, utc.size() - 4) : utc;
}

std::string rate_column(const std::optional<double>& rate) {
  return rate ? fmt::format("{:.1f}", *rate) : std::string("-");
}

std::vector<ExchangeEntry> read_directory(const StoreLocation& db, GuardianSetup& setup) {
  complete_management_setup(&setup);
  ManagementApi api(setup.config.management);
  std::vector<ExchangeInfo> exchanges = api.exchanges_with_rates();
  std::vector<BindingInfo> bindings = api.bindings();
  std::unique_ptr<Store> store = open_store(db, Actor{"cli", ""});
  return exchange_directory(exchanges, bindings, store->exchange_samples());
}

int list_exchanges(const StoreLocation& db, GuardianSetup& setup) {
  constexpr const char* kRow = "{:<10} {:<40} {:<16} {:<8} {:<7} {:>7}  {:<19}  {:>8}  {}\n";
  fmt::print(kRow, "VHOST", "EXCHANGE", "OWNER", "TYPE", "DURABLE", "RATE/S", "LAST MESSAGE",
             "BINDINGS", "COMPLIANCE");
  for (const ExchangeEntry& e : read_directory(db, setup)) {
    fmt::print(kRow, shown_text(e.exchange.vhost), shown_text(e.exchange.name), shown_text(e.owner),
               shown_text(e.exchange.type), e.exchange.durable ? "yes" : "no",
               rate_column(e.exchange.publish_rate),
               e.sample ? readable_time(e.sample->last_seen_at) : std::string("-"), e.bindings,
               compliance_summary(e));
  }
  return 0;
}

void print_example(const MessageExample& m, const char* indent) {
  fmt::print("{}routing key:   \"{}\"\n", indent, shown_text(m.routing_key));
  std::vector<std::string> fields = routing_key_fields(m.routing_key);
  for (std::size_t i = 0; i < fields.size(); ++i)
    fmt::print("{}  {:>2}: \"{}\"\n", indent, i, shown_text(fields[i]));
  fmt::print("{}content type:  {}\n", indent,
             m.content_type ? "\"" + shown_text(*m.content_type) + "\"" : std::string("(none)"));
  fmt::print("{}delivery mode: {}\n", indent, delivery_mode_text(m.delivery_mode));
  fmt::print("{}size:          {} bytes\n", indent, m.size);
  fmt::print("{}payload:\n", indent);
  std::string payload = shown_payload(m, kShownPayloadBytes);
  std::size_t start = 0;
  while (start <= payload.size()) {
    std::size_t end = payload.find('\n', start);
    fmt::print("{}  {}\n", indent, payload.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

int show_exchange(const StoreLocation& db, GuardianSetup& setup, const std::string& vhost,
                  const std::string& name) {
  for (const ExchangeEntry& e : read_directory(db, setup)) {
    if (e.exchange.vhost != vhost || e.exchange.name != name) continue;
    fmt::print("exchange      {} (vhost {})\n", shown_text(name), shown_text(vhost));
    fmt::print("owner         {}\n", shown_text(e.owner));
    fmt::print("type          {}, {}\n", shown_text(e.exchange.type),
               e.exchange.durable ? "durable" : "not durable");
    fmt::print("publish rate  {}/s\n", rate_column(e.exchange.publish_rate));
    fmt::print("bindings      {}\n", e.bindings);
    fmt::print("compliance    {}\n", compliance_summary(e));
    if (!e.problem.empty()) fmt::print("              {}\n", e.problem);
    if (!e.sample) {
      fmt::print("\nNo message inspected yet (the guardian samples with --sample-messages).\n");
      return 0;
    }
    const ExchangeSample& s = *e.sample;
    fmt::print("inspected     {} messages, from {} to {} (UTC)\n", s.inspected,
               readable_time(s.first_seen_at), readable_time(s.last_seen_at));
    fmt::print("routing keys  {}\n",
               s.routing_key_fields_min == s.routing_key_fields_max
                   ? fmt::format("{} fields, always", s.routing_key_fields_min)
                   : fmt::format("{} to {} fields: not a fixed index from the left",
                                 s.routing_key_fields_min, s.routing_key_fields_max));
    std::vector<std::string> keys;
    for (const std::string& k : s.json_keys) keys.push_back("\"" + shown_text(k) + "\"");
    fmt::print("JSON keys     {}\n", keys.empty() ? std::string("(none seen)")
                                                  : fmt::format("{}", fmt::join(keys, ", ")));
    fmt::print("\nlast message\n");
    print_example(s.last, "  ");
    if (s.violations.empty()) {
      fmt::print("\nviolations    none seen\n");
      return 0;
    }
    fmt::print("\nviolations\n");
    for (const ExchangeViolationRecord& v : s.violations) {
      fmt::print("  {} ({}): {} messages, the last {} UTC{}\n", violation_name(v.kind),
                 violation_is_must(v.kind) ? "MUST" : "SHOULD", v.count, readable_time(v.last_at),
                 v.mailed_at.empty()
                     ? std::string()
                     : fmt::format("; owners mailed {} UTC", readable_time(v.mailed_at)));
      fmt::print("    \"{}\"\n", violation_rule(v.kind));
      fmt::print("    example\n");
      print_example(v.example, "      ");
    }
    return 0;
  }
  throw Error(fmt::format("no Pulse exchange {} in vhost {} on the broker", shown_text(name),
                          shown_text(vhost)));
}

}  // namespace

void add_exchange_directory_commands(CLI::App* exchange,
                                     const std::function<StoreLocation()>& store,
                                     std::function<int()>& action) {
  auto list_setup = std::make_shared<GuardianSetup>();
  CLI::App* list = exchange->add_subcommand(
      "list",
      "Every Pulse exchange: owner, type, durability, publish rate, last message, bindings and "
      "compliance (what the guardian's --sample-messages saw)");
  add_management_options(list, list_setup.get());
  list->callback([&store, &action, list_setup] {
    action = [&store, list_setup] { return list_exchanges(store(), *list_setup); };
  });

  struct ShowArgs {
    std::string name;
    std::string vhost = "/";
  };
  auto show_setup = std::make_shared<GuardianSetup>();
  auto show_args = std::make_shared<ShowArgs>();
  CLI::App* show = exchange->add_subcommand(
      "show",
      "One exchange: its last message pretty-printed, its routing key's fields, and its "
      "violations with an example of each");
  show->add_option("name", show_args->name, "Exchange name")->required();
  show->add_option("--vhost", show_args->vhost, "Vhost")->capture_default_str();
  add_management_options(show, show_setup.get());
  show->callback([&store, &action, show_setup, show_args] {
    action = [&store, show_setup, show_args] {
      return show_exchange(store(), *show_setup, show_args->vhost, show_args->name);
    };
  });
}

}  // namespace authsvc
