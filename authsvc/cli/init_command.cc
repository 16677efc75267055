// `authsvc init`: the one command that creates a database.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "authsvc/cli/command.h"
#include "authsvc/store/store.h"

namespace authsvc {

void add_init_command(CLI::App& app, CommandLine& cli) {
  CLI::App* init =
      app.add_subcommand("init", "Create the database, or bring an existing one to this schema");
  init->callback([&cli] {
    cli.action = [&cli] {
      std::unique_ptr<Store> store =
          open_store(cli.store(), Actor{"cli", operator_name()}, OpenMode::create_if_missing);
      fmt::print("database {} is ready (schema version {}, {} users)\n", cli.db_path,
                 store->schema_version(), store->list_users().size());
      return 0;
    };
  });
}

}  // namespace authsvc
