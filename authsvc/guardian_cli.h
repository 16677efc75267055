#pragma once
// The guardian's commands: `authsvc guardian`, `queue list|exempt`,
// `exchange check`, and the options `serve --guardian` shares with them.

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "authsvc/guardian.h"
#include "authsvc/mailer.h"
#include "authsvc/management_api.h"

namespace authsvc {

// What the command line says about reaching the broker and the mail server.
struct GuardianSetup {
  ManagementOptions management;
  std::string management_password_file;
  MailServer mail;
  std::string smtp_password_file;
  GuardianOptions options;
  std::string audit_log = "-";
};

// The management API options (for every command that reads the broker).
void add_management_options(CLI::App* cmd, GuardianSetup* setup);
// Those and the guardian's own (interval, thresholds, mail, dry run).
void add_guardian_options(CLI::App* cmd, GuardianSetup* setup);
// Reads the password files and checks what the options need together.
// Throws std::runtime_error with one line for the operator.
void complete_management_setup(GuardianSetup* setup);
void complete_guardian_setup(GuardianSetup* setup);

// A guardian with everything it needs, run on its own thread (serve
// --guardian) or on the caller's (authsvc guardian).
class GuardianProcess {
 public:
  GuardianProcess(const std::string& db_path, const GuardianSetup& setup, AuditLog& audit);
  ~GuardianProcess();
  Guardian& guardian() { return *guardian_; }

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<ManagementApi> api_;
  std::unique_ptr<SmtpMailer> mailer_;
  std::unique_ptr<Guardian> guardian_;
};

// Registers guardian, queue and exchange on `app`; a command sets `action`.
void add_guardian_commands(CLI::App& app, const std::string& db_path,
                           const std::function<std::string()>& operator_name,
                           std::function<int()>& action);

}  // namespace authsvc
