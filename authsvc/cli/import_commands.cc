// `authsvc import definitions|owners`: migration from a running Pulse. The
// users of RabbitMQ's internal database come in with their passwords
// (legacy credentials), and their owners from PulseGuardian's database.
// Each file is read and checked whole before the store is written, and the
// store writes each import in one transaction: all or nothing.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <set>

#include "authsvc/cli/command.h"
#include "authsvc/core/error.h"
#include "authsvc/core/text.h"
#include "authsvc/import/bounded_file.h"
#include "authsvc/import/definitions.h"
#include "authsvc/import/import_plan.h"
#include "authsvc/import/import_report.h"
#include "authsvc/import/owners_csv.h"
#include "authsvc/import/permission_comparison.h"
#include "authsvc/server/rules_file.h"
#include "authsvc/store/store.h"

namespace authsvc {
namespace {

struct ImportArgs {
  std::string file;
  std::string rules_path;
  bool dry_run = false;
};

std::set<std::string> user_names(Store& store) {
  std::set<std::string> names;
  for (const UserInfo& u : store.list_users()) names.insert(u.name);
  return names;
}

int import_definitions(const StoreLocation& db, const ImportArgs& args) {
  Definitions definitions = read_definitions_file(args.file);
  std::shared_ptr<const Rules> rules = load_rules(args.rules_path);
  std::unique_ptr<Store> store = open_store(db, Actor{"cli", operator_name()});
  std::set<std::string> existing = user_names(*store);
  ImportPlan plan = plan_import(
      definitions, [&existing](const std::string& name) { return existing.count(name) > 0; });
  std::vector<std::string> names;
  for (const ImportedUser& u : plan.users) names.push_back(u.name);
  PermissionComparison comparison = compare_permissions(definitions, names, *rules);
  fmt::print("{}\n", format_import_report(args.file, definitions, plan, comparison,
                                          args.rules_path.empty()
                                              ? std::string("the built-in rules/pulse.rules")
                                              : args.rules_path));
  if (args.dry_run) {
    fmt::print("Dry run: nothing was changed. Without --dry-run, {} users would be imported.\n",
               plan.users.size());
    return 0;
  }
  if (!plan.users.empty()) store->import_users(plan.users);
  fmt::print(
      "Imported {} users. Their RabbitMQ passwords log in to authsvc now. Next: `authsvc import "
      "owners`; once the broker asks authsvc first (auth_backends), delete these users from its "
      "internal database, or a login authsvc refuses is tried there next.\n",
      plan.users.size());
  return 0;
}

int import_owners(const StoreLocation& db, const ImportArgs& args) {
  OwnersFile file =
      parse_owners_csv(read_bounded_file(args.file, kMaxOwnersFileBytes, "an owners file"));
  std::unique_ptr<Store> store = open_store(db, Actor{"cli", operator_name()});
  std::set<std::string> existing = user_names(*store);
  check_owner_accounts(file,
                       [&existing](const std::string& name) { return existing.count(name) > 0; });
  std::string path = printable(args.file);
  if (file.errors.size() == 1) {
    throw Error(fmt::format("{}:{}: {}; nothing was imported", path, file.errors[0].line,
                            file.errors[0].reason));
  }
  if (!file.errors.empty()) {
    for (const OwnersError& e : file.errors) {
      fmt::print(stderr, "{}:{}: {}\n", path, e.line, e.reason);
    }
    throw Error(
        fmt::format("{}: {} lines with problems; nothing was imported", path, file.errors.size()));
  }
  std::vector<OwnerGrant> grants;
  std::set<std::string> accounts;
  for (const OwnerLine& line : file.grants) {
    grants.push_back(line.grant);
    accounts.insert(line.grant.user);
  }
  if (!grants.empty()) store->add_owners(grants);
  fmt::print(
      "{} owner lines for {} accounts imported (an owner an account had already is kept "
      "once).\n",
      grants.size(), accounts.size());
  return 0;
}

}  // namespace

void add_import_commands(CLI::App& app, CommandLine& cli) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* import = app.add_subcommand("import", "Migrate from a running Pulse");
  import->require_subcommand(1);

  CLI::App* definitions = import->add_subcommand(
      "definitions",
      "Import RabbitMQ's internal users (rabbitmqctl export_definitions) with their passwords, "
      "and report where authsvc's rules differ from their permissions");
  definitions->add_option("file", args->file, "The definitions file (JSON)")->required();
  definitions->add_flag("--dry-run", args->dry_run, "Print the report; change nothing");
  definitions->add_option("--rules", args->rules_path,
                          "Rules to compare with, as serve --rules (default: the built-in "
                          "rules/pulse.rules)");
  definitions->callback([&cli, args] {
    cli.action = [&cli, args] { return import_definitions(cli.store(), *args); };
  });

  CLI::App* owners = import->add_subcommand(
      "owners", "Add owners to accounts from account,email lines (PulseGuardian's, see README)");
  owners->add_option("file", args->file, "The CSV file")->required();
  owners->callback(
      [&cli, args] { cli.action = [&cli, args] { return import_owners(cli.store(), *args); }; });
}

}  // namespace authsvc
