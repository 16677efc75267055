// `authsvc check`: the decision for one resource or topic access, as the
// server would make it, from the database and the rules. A request the
// server would refuse with 400 (it cannot come from the broker: a name over
// 255 bytes, configure on a topic) is no decision: exit 1, with the reason
// the server's audit line would give.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <memory>
#include <optional>
#include <string_view>

#include "authsvc/cli/command.h"
#include "authsvc/core/auth_request.h"
#include "authsvc/core/decision.h"
#include "authsvc/core/error.h"
#include "authsvc/core/form.h"
#include "authsvc/server/rules_file.h"
#include "authsvc/server/store_watcher.h"
#include "authsvc/store/store.h"

namespace authsvc {
namespace {

struct CheckArgs {
  std::string user;
  std::string resource;
  std::string name;
  std::string permission;
  std::string vhost = "/";
  std::string routing_key;
  std::string rules_path;
};

// The form the broker would send for this check: RabbitMQ's parameters
// for /auth/resource or /auth/topic.
std::string form_text(const CheckArgs& args) {
  std::string text = "username=" + form_encoded(args.user) + "&vhost=" + form_encoded(args.vhost) +
                     "&resource=" + form_encoded(args.resource) +
                     "&name=" + form_encoded(args.name) +
                     "&permission=" + form_encoded(args.permission);
  if (args.resource == "topic" || !args.routing_key.empty()) {
    text += "&routing_key=" + form_encoded(args.routing_key);
  }
  return text;
}

int check(const StoreLocation& db, const CheckArgs& args) {
  // Parsed as the server parses the broker's request (AuthService::handle),
  // so that check refuses what the server would answer 400 to.
  Endpoint endpoint = args.resource == "topic" ? Endpoint::topic : Endpoint::resource;
  std::string error;
  std::optional<Form> form = Form::decode(form_text(args), &error);
  std::optional<AuthRequest> request =
      form ? parse_auth_request(endpoint, *form, &error) : std::nullopt;
  if (!request) {
    throw Error(
        fmt::format("the server would refuse this request (400, rule bad-request): {}", error));
  }

  std::shared_ptr<const Rules> rules = load_rules(args.rules_path);
  std::unique_ptr<Store> store = open_store(db, Actor{"cli", operator_name()});
  std::shared_ptr<const Snapshot> snapshot = StoreWatcher::load(*store, rules);
  Decision decision = decide(*request, *snapshot, std::chrono::system_clock::now());
  fmt::print("{}\nrule: {}\nreason: {}\n", decision.allow ? "allow" : "deny", decision.rule,
             decision.reason);
  return 0;
}

}  // namespace

void add_check_command(CLI::App& app, CommandLine& cli) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* check_cmd =
      app.add_subcommand("check", "Show the decision for one resource or topic access");
  check_cmd->add_option("--user", args->user, "User name")->required();
  check_cmd->add_option("--resource", args->resource, "exchange, queue or topic")
      ->required()
      ->check(CLI::IsMember({"exchange", "queue", "topic"}));
  check_cmd->add_option("--name", args->name, "Resource name (topic: the exchange)")->required();
  check_cmd->add_option("--permission", args->permission, "configure, write or read")
      ->required()
      ->check(CLI::IsMember({"configure", "write", "read"}));
  check_cmd->add_option("--vhost", args->vhost, "Vhost")->capture_default_str();
  check_cmd->add_option("--routing-key", args->routing_key, "Routing key (topic)");
  check_cmd->add_option("--rules", args->rules_path,
                        "Rules file (default: the built-in rules/pulse.rules)");
  check_cmd->callback(
      [&cli, args] { cli.action = [&cli, args] { return check(cli.store(), *args); }; });
}

}  // namespace authsvc
