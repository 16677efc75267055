#include "authsvc/cli/guardian_cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <map>

#include "authsvc/cli/command.h"
#include "authsvc/cli/password_file.h"
#include "authsvc/core/duration.h"
#include "authsvc/core/error.h"
#include "authsvc/guardian/expiry_notice.h"
#include "authsvc/guardian/url.h"
#include "authsvc/server/guardian_process.h"

namespace authsvc {

void add_management_options(CLI::App* cmd, GuardianSetup* setup) {
  setup->config.management.url = "http://127.0.0.1:15672";
  cmd->add_option("--management-url", setup->config.management.url,
                  "RabbitMQ management API, http(s)://HOST:PORT[/PREFIX]")
      ->capture_default_str();
  cmd->add_option("--management-user", setup->config.management.user,
                  "Operator account in the broker's internal backend (tag: administrator)");
  cmd->add_option("--management-password-file", setup->management_password_file,
                  "File whose first line is that account's password (never on the command "
                  "line)");
}

void add_guardian_options(CLI::App* cmd, GuardianSetup* setup) {
  add_management_options(cmd, setup);
  auto* interval = cmd->add_option_function<double>(
                          "--interval",
                          [setup](double seconds) {
                            setup->config.options.interval = std::chrono::milliseconds(
                                static_cast<std::int64_t>(seconds * 1000));
                          },
                          "Seconds between looks at the broker (revocation takes at most one)")
                       ->check(CLI::Range(0.1, 86400.0));
  interval->default_str("10");
  cmd->add_option("--warn", setup->config.options.limits.warn,
                  "Messages in a queue that make its owner warned (per user: user set "
                  "--queue-warn)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--delete", setup->config.options.limits.remove,
                  "Messages in a queue that make it deleted (per user: user set --queue-delete)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--over-limit", setup->over_limit,
                  "What is done with a queue past --delete: delete it, or cap it there with an "
                  "operator policy of the guardian's (its oldest messages dropped, consumers and "
                  "bindings kept; lifted below --warn). Per user: user set --over-limit")
      ->check(CLI::IsMember({"delete", "cap"}))
      ->capture_default_str();
  cmd->add_option("--orphan-after", setup->orphan_after,
                  "How long a user's queue may have no consumer before its owners are mailed "
                  "that it is orphaned, once (0: never)")
      ->capture_default_str();
  cmd->add_option("--expiry-notice", setup->expiry_notice,
                  "How long before an account expires its owners are mailed: durations, "
                  "comma separated (each notice once)")
      ->capture_default_str();
  cmd->add_flag("--delete-noncompliant-exchanges",
                setup->config.options.delete_noncompliant_exchanges,
                "Delete exchange/<user>/... exchanges that are not durable topic exchanges "
                "(default: only tell their owner)");
  cmd->add_option("--smtp-url", setup->config.mail.url,
                  "Mail server, smtp://HOST:PORT or smtps://...");
  cmd->add_option("--mail-from", setup->config.mail.from, "Sender address of the guardian's mail");
  cmd->add_flag("--smtp-starttls", setup->config.mail.require_starttls,
                "Require STARTTLS on smtp:// (the server's certificate is verified)");
  cmd->add_option("--smtp-user", setup->config.mail.user,
                  "SMTP AUTH user, if the server wants one");
  cmd->add_option("--smtp-password-file", setup->smtp_password_file,
                  "File whose first line is the SMTP password");
  cmd->add_flag("--dry-run", setup->config.options.dry_run,
                "Change, delete, close and send nothing: print what would be done");
  cmd->add_flag("--sample-messages", setup->config.sample_messages,
                "Inspect a sample of the messages on every Pulse exchange, record what is seen "
                "and mail owners about messages that break the specification's rules");
  cmd->add_option("--sample-rate", setup->config.sampler.rate,
                  "Messages inspected per exchange per minute, at most (the rest expire unread)")
      ->check(CLI::Range(1, 6000))
      ->capture_default_str();
  cmd->add_option("--sample-amqp-url", setup->sample_amqp_url,
                  "The broker's AMQP port for the sampler, amqp://HOST:PORT or amqps://HOST:PORT, "
                  "as the management API's account (default: amqp:// on the management "
                  "API's host, port 5672)");
  cmd->add_option("--sample-ca-file", setup->config.amqp.ca_file,
                  "With amqps://: the CA the broker's certificate is checked against (default: "
                  "the system's)");
  cmd->add_option("--sample-mail-every", setup->sample_mail_every,
                  "At most one mail per exchange per kind of violation per this duration")
      ->capture_default_str();
}

void complete_management_setup(GuardianSetup* setup) {
  if (setup->config.management.user.empty() || setup->management_password_file.empty()) {
    throw Error("the management API needs --management-user and --management-password-file");
  }
  setup->config.management.password = read_password_file(setup->management_password_file);
}

namespace {

// The sampler's AMQP endpoint and account, and its mail period.
void complete_sampler_setup(GuardianSetup* setup) {
  GuardianConfig& config = setup->config;
  std::optional<std::chrono::seconds> every = parse_duration(setup->sample_mail_every);
  if (!every || every->count() <= 0)
    throw CLI::ValidationError("--sample-mail-every: not a duration: " + setup->sample_mail_every);
  config.sampler.mail_period = *every;
  config.sampler.refresh = config.options.interval;
  config.sampler.report = config.options.interval;
  // Each exchange's queue holds a minute's worth at the rate, and its TTL
  // is that minute: what the sampler does not take in time expires.
  config.amqp.queue_messages = config.sampler.rate;
  config.amqp.user = config.management.user;
  config.amqp.password = config.management.password;
  std::string error;
  std::string url = setup->sample_amqp_url;
  if (url.empty()) {
    std::optional<ServerUrl> management =
        parse_server_url(config.management.url, {"http", "https"}, &error);
    if (!management)
      throw Error(fmt::format("--management-url {}: {}", redact_url(config.management.url), error));
    url =
        "amqp://" + (management->host.find(':') != std::string::npos ? "[" + management->host + "]"
                                                                     : management->host);
  }
  std::optional<ServerUrl> amqp = parse_server_url(url, {"amqp", "amqps"}, &error);
  if (!amqp)
    throw CLI::ValidationError(fmt::format("--sample-amqp-url {}: {}", redact_url(url), error));
  config.amqp.host = amqp->host;
  config.amqp.tls = amqp->scheme == "amqps";
  config.amqp.port = amqp->port;
  if (!config.amqp.ca_file.empty() && !config.amqp.tls)
    throw Error("--sample-ca-file is for an amqps:// --sample-amqp-url");
}

}  // namespace

void complete_guardian_setup(GuardianSetup* setup) {
  std::string error;
  std::optional<std::vector<std::chrono::seconds>> leads =
      parse_expiry_notice_leads(setup->expiry_notice, &error);
  if (!leads) throw CLI::ValidationError(error);
  setup->config.options.expiry_notice_leads = *leads;
  setup->config.options.limits.over_limit = *over_limit_from_string(setup->over_limit);
  std::optional<std::chrono::seconds> orphan_after = parse_duration(setup->orphan_after);
  if (!orphan_after || orphan_after->count() < 0)
    throw CLI::ValidationError("--orphan-after: not a duration: " + setup->orphan_after);
  setup->config.options.orphan_after =
      orphan_after->count() == 0 ? std::nullopt : std::optional(*orphan_after);
  complete_management_setup(setup);
  if (setup->config.options.limits.warn >= setup->config.options.limits.remove) {
    throw Error(fmt::format("--warn ({}) must be below --delete ({})",
                            setup->config.options.limits.warn,
                            setup->config.options.limits.remove));
  }
  if (setup->config.mail.url.empty() && !setup->config.options.dry_run) {
    throw Error("the guardian mails owners: give --smtp-url and --mail-from (or --dry-run)");
  }
  if (!setup->config.mail.url.empty() && setup->config.mail.from.empty()) {
    throw Error("--smtp-url needs --mail-from");
  }
  if (!setup->smtp_password_file.empty()) {
    setup->config.mail.password = read_password_file(setup->smtp_password_file);
  }
  complete_sampler_setup(setup);
}

namespace {

// Who answers for a queue's account: its owners' addresses, "no owner" for
// an account that has none (imported from RabbitMQ), "-" for a queue of
// no account authsvc knows.
std::string owners_column(const UserInfo* user) {
  if (!user) return "-";
  if (user->owners.empty()) return "no owner";
  return fmt::format("{}", fmt::join(user->owners, ","));
}

int list_queues(const StoreLocation& db, GuardianSetup& setup) {
  complete_management_setup(&setup);
  std::unique_ptr<Store> store = open_store(db, Actor{"cli", ""});
  ManagementApi api(setup.config.management);
  GuardianInput input;
  input.queues = api.queues();
  input.users = store->list_users();
  input.exempt_queues = store->queue_exemptions();
  input.queue_notices = store->queue_notices();
  input.limits = setup.config.options.limits;
  std::map<std::string, const UserInfo*> users;
  for (const UserInfo& u : input.users) users[u.name] = &u;
  auto user_of = [&](const std::optional<std::string>& name) -> const UserInfo* {
    auto found = name ? users.find(*name) : users.end();
    return found == users.end() ? nullptr : found->second;
  };
  constexpr const char* kRow = "{:<10} {:<40} {:<16} {:>9} {:>6} {:>7}  {:<28} {}\n";
  fmt::print(kRow, "VHOST", "QUEUE", "USER", "MESSAGES", "WARN", "DELETE", "STATE", "OWNERS");
  for (const QueueStatus& s : queue_statuses(input)) {
    const QueueInfo& q = s.queue;
    bool ours = s.owner.has_value();
    fmt::print(
        kRow, q.vhost, q.name, s.owner.value_or("-"),
        q.messages ? std::to_string(*q.messages) : "?", ours ? std::to_string(s.limits.warn) : "-",
        ours ? std::to_string(s.limits.remove) : "-",
        std::string(ours && !s.owner_known ? "user unknown; " : "") +
            (s.state == QueueState::bounded ? fmt::format("bounded at {}", *queue_length_limit(q))
                                            : std::string(to_string(s.state))),
        owners_column(user_of(s.owner)));
  }
  for (const ResourceKey& key : input.exempt_queues) {
    bool present = std::any_of(input.queues.begin(), input.queues.end(), [&](const QueueInfo& q) {
      return q.vhost == key.vhost && q.name == key.name;
    });
    if (!present) {
      std::optional<std::string> user = owner_of("queue", key.name);
      fmt::print(kRow, key.vhost, key.name, user.value_or("-"), "-", "-", "-",
                 "exempt (unbounded); not on the broker now", owners_column(user_of(user)));
    }
  }
  return 0;
}

int check_exchanges(GuardianSetup& setup) {
  complete_management_setup(&setup);
  ManagementApi api(setup.config.management);
  GuardianInput input;
  input.exchanges = api.exchanges();
  std::size_t found = 0;
  for (const GuardianAction& a : plan_guardian(input)) {
    if (a.kind != GuardianAction::Kind::report_exchange) continue;
    if (found++ == 0)
      fmt::print("{:<10} {:<40} {:<16} {}\n", "VHOST", "EXCHANGE", "OWNER", "PROBLEM");
    fmt::print("{:<10} {:<40} {:<16} {}\n", a.vhost, a.name, a.owner, a.reason);
  }
  if (found == 0) {
    fmt::print("every exchange/<user>/... exchange is a durable topic exchange\n");
    return 0;
  }
  return 1;
}

}  // namespace

void add_guardian_commands(CLI::App& app, const std::function<StoreLocation()>& store,
                           const std::function<std::string()>& operator_name,
                           std::function<int()>& action) {
  auto setup = std::make_shared<GuardianSetup>();
  auto once = std::make_shared<bool>(false);
  auto ops = std::make_shared<OpsOptions>();
  CLI::App* guardian =
      app.add_subcommand("guardian",
                         "Watch the broker: queue limits with owner e-mail, exchange compliance, "
                         "closing revoked users' connections");
  add_guardian_options(guardian, setup.get());
  guardian->add_option("--audit-log", setup->audit_log, "Audit log file, or - for stdout")
      ->capture_default_str();
  add_node_name_option(guardian, &setup->node_name,
                       "HOST:PORT, the host name and the --metrics-listen port; without "
                       "--metrics-listen the host name alone, as the guardian listens on no "
                       "port of its own");
  guardian->add_flag("--once", *once, "One look, its actions and mail, then exit");
  add_ops_options(guardian, ops.get());
  guardian->callback([&store, &action, setup, once, ops] {
    OpsSettings settings = ops_settings(*ops);
    action = [&store, setup, once, settings] {
      check_node_name(setup->node_name);
      complete_guardian_setup(setup.get());
      return run_guardian(store(), setup->config, setup->audit_log, setup->node_name, *once,
                          settings);
    };
  });

  auto queue_setup = std::make_shared<GuardianSetup>();
  CLI::App* queue = app.add_subcommand("queue", "Queues and their limits");
  queue->require_subcommand(1);
  CLI::App* list = queue->add_subcommand(
      "list", "Queues on the broker: account, size, thresholds, state, owners");
  add_management_options(list, queue_setup.get());
  list->add_option("--warn", queue_setup->config.options.limits.warn, "Default warning threshold")
      ->capture_default_str();
  list->add_option("--delete", queue_setup->config.options.limits.remove,
                   "Default deletion threshold")
      ->capture_default_str();
  list->callback([&store, &action, queue_setup] {
    action = [&store, queue_setup] { return list_queues(store(), *queue_setup); };
  });

  struct ExemptArgs {
    std::string name;
    std::string vhost = "/";
    bool remove = false;
  };
  auto exempt_args = std::make_shared<ExemptArgs>();
  CLI::App* exempt =
      queue->add_subcommand("exempt", "Exempt a queue from the limits (unbounded), or --remove");
  exempt->add_option("name", exempt_args->name, "Queue name")->required();
  exempt->add_option("--vhost", exempt_args->vhost, "Vhost")->capture_default_str();
  exempt->add_flag("--remove", exempt_args->remove, "Subject it to the limits again");
  exempt->callback([&store, &action, operator_name, exempt_args] {
    action = [&store, operator_name, exempt_args] {
      std::unique_ptr<Store> opened = open_store(store(), Actor{"cli", operator_name()});
      std::string owner = owner_of("queue", exempt_args->name).value_or("");
      opened->set_queue_exempt(ResourceKey{exempt_args->vhost, exempt_args->name}, owner,
                               !exempt_args->remove);
      fmt::print("queue {} (vhost {}) is {}\n", exempt_args->name, exempt_args->vhost,
                 exempt_args->remove ? "subject to the limits again" : "exempt (unbounded)");
      return 0;
    };
  });

  auto exchange_setup = std::make_shared<GuardianSetup>();
  CLI::App* exchange = app.add_subcommand("exchange", "Exchanges");
  exchange->require_subcommand(1);
  CLI::App* check = exchange->add_subcommand(
      "check",
      "List exchange/<user>/... exchanges that are not durable topic exchanges (exit 1 "
      "if any)");
  add_management_options(check, exchange_setup.get());
  check->callback([&action, exchange_setup] {
    action = [exchange_setup] { return check_exchanges(*exchange_setup); };
  });
  add_exchange_directory_commands(exchange, store, action);
  add_report_command(app, store, action);
}

}  // namespace authsvc
