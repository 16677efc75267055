// `authsvc web-access revoke ADDRESS`: the operator's way to end what a
// person holds on the web (sessions, API keys) without the web running, or
// without an admin there; their accounts stay theirs.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "authsvc/cli/command.h"
#include "authsvc/core/text.h"
#include "authsvc/store/store.h"

namespace authsvc {

void add_web_access_command(CLI::App& app, CommandLine& cli) {
  CLI::App* access = app.add_subcommand("web-access", "What people hold on `authsvc web`");
  access->require_subcommand(1);
  auto address = std::make_shared<std::string>();
  CLI::App* revoke = access->add_subcommand(
      "revoke", "End every web session of ADDRESS and revoke every API key acting as it");
  revoke->add_option("address", *address, "The person's e-mail address")->required();
  revoke->callback([&cli, address] {
    cli.action = [&cli, address] {
      std::unique_ptr<Store> store = open_store(cli.store(), Actor{"cli", operator_name()});
      WebAccessEnded ended = store->end_web_access(*address);
      fmt::print("{}: {} sessions ended, {} API keys revoked\n", printable(*address),
                 ended.sessions, ended.api_keys);
      return 0;
    };
  });
}

}  // namespace authsvc
