// `authsvc report ACCOUNT`: the account's report card against the Pulse
// specification (guardian/report_card.h), from the management API and what
// the guardian's message sampler recorded.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>

#include "authsvc/cli/guardian_cli.h"
#include "authsvc/core/error.h"
#include "authsvc/guardian/exchange_directory.h"
#include "authsvc/guardian/management_api.h"
#include "authsvc/guardian/report_card.h"

namespace authsvc {

namespace {

int print_report(const StoreLocation& db, GuardianSetup& setup, const std::string& account) {
  complete_management_setup(&setup);
  std::unique_ptr<Store> store = open_store(db, Actor{"cli", ""});
  GuardianInput input;
  input.users = store->list_users();
  if (std::none_of(input.users.begin(), input.users.end(),
                   [&](const UserInfo& u) { return u.name == account; }))
    throw Error(fmt::format("no account {}", shown_text(account)));
  ManagementApi api(setup.config.management);
  input.queues = api.queues();
  input.exempt_queues = store->queue_exemptions();
  input.queue_notices = store->queue_notices();
  input.limits = setup.config.options.limits;

  ReportCardInput in;
  in.account = account;
  in.exchanges = api.exchanges();
  in.samples = samples_of(account, in.exchanges, *store);
  in.channels = api.channels();
  in.consumers = api.consumers();
  in.queues = queue_statuses(input);
  std::vector<ReportItem> card = report_card(in);

  fmt::print("{} against the Pulse specification\n", shown_text(account));
  std::string subject;
  for (const ReportItem& i : card) {
    if (i.subject != subject) {
      subject = i.subject;
      fmt::print("\n{}\n", subject);
    }
    fmt::print("  {:<8} {:<6} {}\n", to_string(i.standing), to_string(i.obligation), i.rule);
    for (const std::string& line : i.evidence) fmt::print("                  {}\n", line);
  }
  bool failed = breaks_a_must(card);
  fmt::print("\n{}\n", failed ? "A MUST is not met." : "Every MUST that can be seen is met.");
  return failed ? 1 : 0;
}

}  // namespace

void add_report_command(CLI::App& app, const std::function<StoreLocation()>& store,
                        std::function<int()>& action) {
  struct ReportArgs {
    std::string account;
  };
  auto setup = std::make_shared<GuardianSetup>();
  auto args = std::make_shared<ReportArgs>();
  CLI::App* report = app.add_subcommand(
      "report",
      "One account against the Pulse specification: each MUST and SHOULD that the broker and "
      "the guardian's --sample-messages can see, met or not, with the evidence (exit 1 if a MUST "
      "is not met)");
  report->add_option("account", args->account, "The account (its clientId)")->required();
  add_management_options(report, setup.get());
  report->add_option("--warn", setup->config.options.limits.warn, "Default warning threshold")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  report->add_option("--delete", setup->config.options.limits.remove, "Default deletion threshold")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  report->callback([&store, &action, setup, args] {
    action = [&store, setup, args] { return print_report(store(), *setup, args->account); };
  });
}

}  // namespace authsvc
