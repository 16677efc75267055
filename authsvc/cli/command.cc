#include "authsvc/cli/command.h"

#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "authsvc/core/duration.h"
#include "authsvc/core/node_name.h"
#include "authsvc/core/text.h"

namespace authsvc {

std::string operator_name() {
  if (const char* sudo_user = std::getenv("SUDO_USER"); sudo_user && *sudo_user) return sudo_user;
  if (const passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return "uid " + std::to_string(getuid());
}

std::chrono::seconds duration_option(const std::string& text, const std::string& option) {
  std::optional<std::chrono::seconds> d = parse_duration(text);
  if (!d || d->count() == 0) {
    throw CLI::ValidationError(option, "'" + printable(text) + "' is not a duration (30m, 2h, 7d)");
  }
  return *d;
}

void add_ops_options(CLI::App* cmd, OpsOptions* options) {
  cmd->add_option("--metrics-listen", options->metrics_listen,
                  "Serve /metrics, /healthz and /readyz on this HOST:PORT (default: none)");
  cmd->add_option("--ready-store-age", options->ready_store_age,
                  "/readyz fails once the database has not been read for this long")
      ->capture_default_str();
}

OpsSettings ops_settings(const OpsOptions& options) {
  return OpsSettings{options.metrics_listen,
                     duration_option(options.ready_store_age, "--ready-store-age")};
}

void add_node_name_option(CLI::App* cmd, std::optional<std::string>* name,
                          const std::string& when_not_given) {
  cmd->add_option("--node-name", *name,
                  "This node's name in each of its audit lines: 1 to 64 printable ASCII "
                  "characters, no space, quote or backslash (default: " +
                      when_not_given + ")");
}

void check_node_name(const std::optional<std::string>& name) {
  if (!name) return;
  if (std::string problem = node_name_problem(*name); !problem.empty()) {
    throw CLI::ValidationError("--node-name", "'" + printable(*name) + "': " + problem);
  }
}

}  // namespace authsvc
