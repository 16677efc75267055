#pragma once
// The guardian's commands: `authsvc guardian`, `queue list|exempt`,
// `exchange check`, and the options `serve --guardian` shares with them.

#include <functional>
#include <optional>
#include <string>

#include "authsvc/server/guardian_process.h"

namespace CLI {
class App;
}

namespace authsvc {

// What the command line says about reaching the broker and the mail server:
// the configuration, and the files its passwords are in until read.
struct GuardianSetup {
  GuardianConfig config;
  std::string management_password_file;
  std::string smtp_password_file;
  std::string audit_log = "-";
  std::optional<std::string> node_name;  // --node-name, `authsvc guardian`'s
  // --expiry-notice as given, read by complete_guardian_setup().
  std::string expiry_notice = "7d,1d";
  // --sample-amqp-url and --sample-mail-every as given, likewise.
  std::string sample_amqp_url;
  std::string sample_mail_every = "1d";
  // --over-limit and --orphan-after as given, likewise.
  std::string over_limit = "delete";
  std::string orphan_after = "24h";
};

// The management API options (for every command that reads the broker).
void add_management_options(CLI::App* cmd, GuardianSetup* setup);
// Those and the guardian's own (interval, thresholds, mail, dry run).
void add_guardian_options(CLI::App* cmd, GuardianSetup* setup);
// Reads the password files and checks what the options need together.
// Throws authsvc::Error with one line for the operator, or
// CLI::ValidationError (a usage error, exit 2) for a value that is not one.
void complete_management_setup(GuardianSetup* setup);
void complete_guardian_setup(GuardianSetup* setup);

// `exchange list` and `exchange show` on `exchange`
// (exchange_directory_command.cc).
void add_exchange_directory_commands(CLI::App* exchange,
                                     const std::function<StoreLocation()>& store,
                                     std::function<int()>& action);

// `report ACCOUNT` on `app` (report_command.cc).
void add_report_command(CLI::App& app, const std::function<StoreLocation()>& store,
                        std::function<int()>& action);

// Registers guardian, queue, exchange and report on `app`; a command sets
// `action`.
void add_guardian_commands(CLI::App& app, const std::function<StoreLocation()>& store,
                           const std::function<std::string()>& operator_name,
                           std::function<int()>& action);

}  // namespace authsvc
