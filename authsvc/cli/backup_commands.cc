// `authsvc backup FILE` and `authsvc restore FILE`: a copy of the whole
// database, taken while serve reads and the CLI writes, and put back in one
// commit (store.h says what each checks). Both are audited in the store.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

#include "authsvc/cli/command.h"
#include "authsvc/core/error.h"
#include "authsvc/core/text.h"
#include "authsvc/server/serve_lock.h"
#include "authsvc/store/store.h"

namespace authsvc {
namespace {

struct BackupArgs {
  std::string file;
  bool force = false;
};

int back_up(const StoreLocation& db, const BackupArgs& args) {
  BackupContents copied = back_up_store(db, args.file, Actor{"cli", operator_name()}, args.force);
  fmt::print("backed up '{}' to '{}': {} users, schema version {}\n", printable(db.where),
             printable(args.file), copied.users, copied.schema_version);
  return 0;
}

int restore(const StoreLocation& db, const BackupArgs& args) {
  // Held to the end, so that a serve starting meanwhile waits for the
  // restored users. With --force it may be a serve's: the restore is one
  // commit, which that serve picks up as it picks up any other. A
  // PostgreSQL store has no lock file, and restore_store() refuses it.
  std::optional<ServeLock> lock;
  if (!db.is_postgresql()) lock = ServeLock::try_take(db.where, ServeLock::Holder::restore);
  if (!lock && !args.force && !db.is_postgresql()) {
    throw Error(fmt::format(
        "a running `authsvc serve` uses '{}' (or a restore is under way); stop it first, or "
        "restore with --force (serve then reloads the restored users)",
        printable(db.where)));
  }
  BackupContents restored = restore_store(db, args.file, Actor{"cli", operator_name()});
  fmt::print("restored '{}' from '{}': {} users (the backup's schema version {})\n",
             printable(db.where), printable(args.file), restored.users, restored.schema_version);
  return 0;
}

}  // namespace

void add_backup_commands(CLI::App& app, CommandLine& cli) {
  auto args = std::make_shared<BackupArgs>();
  CLI::App* backup = app.add_subcommand(
      "backup", "Copy the database to FILE (0600), consistent while serve and the CLI use it");
  backup->add_option("file", args->file, "The copy to write")->required();
  backup->add_flag("--force", args->force, "Replace FILE if it exists");
  backup->callback(
      [&cli, args] { cli.action = [&cli, args] { return back_up(cli.store(), *args); }; });

  CLI::App* restore_cmd = app.add_subcommand(
      "restore", "Replace the database's content with a backup, after checking the backup");
  restore_cmd->add_option("file", args->file, "A backup made by `authsvc backup`")->required();
  restore_cmd->add_flag("--force", args->force,
                        "Restore even while serve runs; it reloads the restored users");
  restore_cmd->callback(
      [&cli, args] { cli.action = [&cli, args] { return restore(cli.store(), *args); }; });
}

}  // namespace authsvc
