// `authsvc check`: the decision for one resource or topic access, as the
// server would make it, from the database and the rules.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "authsvc/cli/command.h"
#include "authsvc/core/auth_request.h"
#include "authsvc/core/decision.h"
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

int check(const std::string& db_path, const CheckArgs& args) {
  std::shared_ptr<const Rules> rules = load_rules(args.rules_path);
  std::unique_ptr<Store> store = open_store(db_path, Actor{"cli", operator_name()});
  std::shared_ptr<const Snapshot> snapshot = StoreWatcher::load(*store, rules);

  AuthRequest request;
  request.endpoint = args.resource == "topic" ? Endpoint::topic : Endpoint::resource;
  request.username = args.user;
  request.vhost = args.vhost;
  request.resource = *resource_kind_from_string(args.resource);
  request.name = args.name;
  request.permission = *permission_from_string(args.permission);
  request.routing_key = args.routing_key;
  Decision decision = decide(request, *snapshot);
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
      [&cli, args] { cli.action = [&cli, args] { return check(cli.db_path, *args); }; });
}

}  // namespace authsvc
