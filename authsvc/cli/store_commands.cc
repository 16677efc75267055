// `authsvc store copy --from PATH|URI --to PATH|URI`: moving between a
// SQLite file and PostgreSQL, either way (store_copy.h says what is copied
// and checked). --db plays no part: both ends are named.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "authsvc/cli/command.h"
#include "authsvc/core/text.h"
#include "authsvc/store/store_copy.h"

namespace authsvc {
namespace {

struct CopyArgs {
  std::string from;
  std::string to;
  std::string from_password_file;
  std::string to_password_file;
  bool force = false;
};

int copy(const CopyArgs& args) {
  StoreLocation from = store_location(args.from, args.from_password_file, "--from");
  StoreLocation to = store_location(args.to, args.to_password_file, "--to");
  StoreCopyResult result = copy_store(from, to, Actor{"cli", operator_name()}, args.force);
  for (const TableCopy& table : result.tables) {
    fmt::print("{:<18} {:>10} rows\n", table.table, table.rows);
  }
  fmt::print("copied '{}' to '{}' (schema version {}); the row counts of every table agree\n",
             printable(args.from), printable(args.to), result.schema_version);
  return 0;
}

}  // namespace

void add_store_commands(CLI::App& app, CommandLine& cli) {
  CLI::App* store = app.add_subcommand("store", "Move the store between SQLite and PostgreSQL");
  store->require_subcommand(1);
  auto args = std::make_shared<CopyArgs>();
  CLI::App* copy_cmd = store->add_subcommand(
      "copy",
      "Copy everything one store holds into another (a SQLite file or a PostgreSQL URI, either "
      "way), in one transaction, checking every table's row count");
  copy_cmd->add_option("--from", args->from, "The store to copy: a SQLite file or a URI")
      ->required();
  copy_cmd
      ->add_option("--to", args->to,
                   "The store to fill: a SQLite file (created if missing) or a URI (its "
                   "schema created if missing); refused if it holds users, unless --force")
      ->required();
  copy_cmd->add_option("--from-password-file", args->from_password_file,
                       "A file holding the PostgreSQL password of --from");
  copy_cmd->add_option("--to-password-file", args->to_password_file,
                       "A file holding the PostgreSQL password of --to");
  copy_cmd->add_flag("--force", args->force, "Replace everything --to holds");
  copy_cmd->callback([&cli, args] { cli.action = [args] { return copy(*args); }; });
}

}  // namespace authsvc
