#pragma once
// What the commands of `authsvc` share: the --db path, the action the chosen
// command sets, and who runs it. run_cli (cli.cc) builds the app from the
// add_*_command functions, one file each, and runs the action.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "authsvc/server/ops_listener.h"
#include "authsvc/store/store.h"

namespace CLI {
class App;
}

namespace authsvc {

struct CommandLine {
  // --db and --db-password-file: may follow the subcommand (`authsvc user
  // add bob --db x.db`), so a command reads them only when its action runs.
  std::string db_path;
  std::string db_password_file;
  // Where --db and --db-password-file say the store is, the password read
  // from its file (an authsvc::Error if it cannot be).
  StoreLocation store() const;
  // Set by the chosen command's callback once parsing succeeded; returns the
  // exit code. What it throws, run_cli turns into one line on stderr: exit 2
  // for a CLI::ValidationError, 1 for anything else.
  std::function<int()> action;
};

// The store at `where` (an option's value: a path or a PostgreSQL URI),
// with the password in `password_file` ("": none), read now; the messages
// name `where_option` ("--db") and its -password-file. An authsvc::Error if
// the file cannot be read, or is given for a SQLite path.
StoreLocation store_location(const std::string& where, const std::string& password_file,
                             std::string_view where_option);

// Who runs the command, for the audit trail: the account behind sudo when
// there is one.
std::string operator_name();

// A non-zero duration option ("30s", "2h", "7d"); a CLI::ValidationError
// (exit 2) naming `option` otherwise.
std::chrono::seconds duration_option(const std::string& text, const std::string& option);

// The operators' listener's options (--metrics-listen, --ready-store-age),
// which serve, guardian and web share.
struct OpsOptions {
  std::string metrics_listen;
  std::string ready_store_age = "30s";
};
void add_ops_options(CLI::App* cmd, OpsOptions* options);
// Their values checked (a usage error otherwise).
OpsSettings ops_settings(const OpsOptions& options);

// --node-name, which serve, guardian and web share: the name of this node
// in every audit line it writes (core/node_name.h). `when_not_given` says
// what the name is then, for --help.
void add_node_name_option(CLI::App* cmd, std::optional<std::string>* name,
                          const std::string& when_not_given);
// A CLI::ValidationError (exit 2, one line) for a given name that is not one.
// Checked when the action runs rather than by CLI11 while parsing, whose
// errors take a second line.
void check_node_name(const std::optional<std::string>& name);

// `init`: init_command.cc.
void add_init_command(CLI::App& app, CommandLine& cli);
// `serve`, with the guardian's options for `serve --guardian`: serve_command.cc.
void add_serve_command(CLI::App& app, CommandLine& cli);
// `user add|import|list|show|rotate|disable|enable|delete|set`: user_commands.cc.
void add_user_commands(CLI::App& app, CommandLine& cli);
// `import definitions|owners`: import_commands.cc.
void add_import_commands(CLI::App& app, CommandLine& cli);
// `check`: check_command.cc.
void add_check_command(CLI::App& app, CommandLine& cli);
// `web`: web_command.cc.
void add_web_command(CLI::App& app, CommandLine& cli);
// `web-access revoke`: web_access_command.cc.
void add_web_access_command(CLI::App& app, CommandLine& cli);
// `backup` and `restore`: backup_commands.cc.
void add_backup_commands(CLI::App& app, CommandLine& cli);
// `store copy`: store_commands.cc.
void add_store_commands(CLI::App& app, CommandLine& cli);
// `audit`: audit_command.cc.
void add_audit_command(CLI::App& app, CommandLine& cli);

}  // namespace authsvc
