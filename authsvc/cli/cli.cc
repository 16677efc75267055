#include "authsvc/cli/cli.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "authsvc/cli/command.h"
#include "authsvc/cli/config_file.h"
#include "authsvc/cli/guardian_cli.h"
#include "authsvc/cli/password_file.h"
#include "authsvc/core/build_info.h"

namespace authsvc {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::string default_db_path() {
  const char* env = std::getenv("AUTHSVC_DB");
  return env && *env ? env : "./authsvc.db";
}

}  // namespace

StoreLocation store_location(const std::string& where, const std::string& password_file,
                             std::string_view where_option) {
  StoreLocation location(where);
  if (!password_file.empty()) {
    if (!location.is_postgresql()) {
      throw Error(fmt::format("{}-password-file is for a PostgreSQL {} (postgresql://...)",
                              where_option, where_option));
    }
    location.password = read_password_file(password_file);
  }
  return location;
}

StoreLocation CommandLine::store() const {
  return store_location(db_path, db_password_file, "--db");
}

int run_cli(int argc, char** argv) {
  // Everything this process creates (the database, its WAL, the audit log)
  // is for the service account alone: it holds token hashes and an audit trail.
  umask(077);
  // Past a file-size limit (ulimit -f) a write should fail with EFBIG, which
  // the audit log reports and retries, instead of SIGXFSZ killing the server.
  signal(SIGXFSZ, SIG_IGN);

  // Named, not argv[0]: the usage lines are the same however it is started,
  // and the man page (help2man, at packaging) reads them.
  CLI::App app{"authsvc: RabbitMQ HTTP auth backend enforcing the Pulse security model", "authsvc"};
  app.set_version_flag("--version",
                       fmt::format("authsvc {} (commit {})", kBuildVersion, kBuildCommit),
                       "Print the version and the git commit built from, and exit");
  app.require_subcommand(1);
  // Options like --db may follow a subcommand: `authsvc user add bob --db x.db`.
  app.fallthrough();
  CommandLine cli;
  cli.db_path = default_db_path();
  app.add_option("--db", cli.db_path,
                 "The store: a SQLite file, or a PostgreSQL URI (postgresql://HOST[:PORT][,HOST2"
                 "[:PORT2]...]/DATABASE[?target_session_attrs=read-write]) (default: $AUTHSVC_DB, "
                 "then ./authsvc.db)");
  app.add_option("--db-password-file", cli.db_password_file,
                 "A file holding the PostgreSQL password of --db (or use libpq's PGPASSFILE)");

  add_init_command(app, cli);
  add_serve_command(app, cli);
  add_user_commands(app, cli);
  add_import_commands(app, cli);
  add_check_command(app, cli);
  add_web_command(app, cli);
  add_web_access_command(app, cli);
  add_backup_commands(app, cli);
  add_store_commands(app, cli);
  add_audit_command(app, cli);
  // Read when the action runs: --db may follow the command.
  const std::function<StoreLocation()> store = [&cli] { return cli.store(); };
  add_guardian_commands(app, store, operator_name, cli.action);
  // CLI11 reads it once the command line is parsed, and applies to each
  // option only what the command line did not give (config_file.h).
  add_config_option(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const ConfigFileError& e) {
    fmt::print(stderr, "authsvc: {}\n", e.what());
    return kExitFailure;
  } catch (const CLI::FileError& e) {
    // The --config file does not exist or cannot be opened.
    fmt::print(stderr, "authsvc: --config: {}\n", e.what());
    return kExitFailure;
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "authsvc: {}\n", e.what());
    fmt::print(stderr, "Run with --help for more information.\n");
    return kExitUsage;
  }
  try {
    return cli.action();
  } catch (const CLI::ValidationError& e) {
    fmt::print(stderr, "authsvc: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "authsvc: {}\n", e.what());
    return kExitFailure;
  }
}

}  // namespace authsvc
