// `authsvc serve`: its options, into ServeOptions (server/serve.h).
#include <CLI/CLI.hpp>
#include <memory>

#include "authsvc/cli/command.h"
#include "authsvc/cli/guardian_cli.h"
#include "authsvc/core/internal_users.h"
#include "authsvc/core/text.h"
#include "authsvc/server/serve.h"

namespace authsvc {

void add_serve_command(CLI::App& app, CommandLine& cli) {
  struct ServeArgs {
    ServeOptions options;
    unsigned throttle_window = 60;
    unsigned throttle_cooloff = 60;
    bool with_guardian = false;
    OpsOptions ops;
    GuardianSetup guardian;
  };
  auto args = std::make_shared<ServeArgs>();
  ServeOptions& options = args->options;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Answer RabbitMQ's HTTP auth requests");
  serve_cmd->add_option("--listen", options.listen, "HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  serve_cmd->add_option("--rules", options.rules_path,
                        "Rules file (default: the built-in rules/pulse.rules)");
  serve_cmd->add_option("--audit-log", options.audit_log, "Audit log file, or - for stdout")
      ->capture_default_str();
  add_node_name_option(serve_cmd, &options.node_name,
                       "HOST:PORT, the host name and the --listen port, the one it got for port 0");
  serve_cmd
      ->add_option("--threads", options.threads,
                   "HTTP event-loop threads (each serves many connections)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  serve_cmd
      ->add_option("--login-failures", options.throttle.max_failures,
                   "Failed logins for one user within --login-window that start a cool-off "
                   "(0: no throttling)")
      ->capture_default_str();
  serve_cmd->add_option("--login-window", args->throttle_window, "Seconds")->capture_default_str();
  serve_cmd
      ->add_option("--login-cooloff", args->throttle_cooloff,
                   "Seconds during which that user's logins are refused unchecked")
      ->capture_default_str();
  serve_cmd->add_option("--internal-user", options.internal_users,
                        "An account of the broker's internal database, e.g. the guardian's "
                        "--management-user: denied at once, unthrottled, for the next backend "
                        "(repeat for more)");
  CLI::Option* tls_cert =
      serve_cmd->add_option("--tls-cert", options.tls.cert_path,
                            "Serve HTTPS with this certificate chain (PEM, leaf first)");
  CLI::Option* tls_key = serve_cmd->add_option("--tls-key", options.tls.key_path,
                                               "Private key of --tls-cert (PEM, unencrypted)");
  tls_cert->needs(tls_key);
  tls_key->needs(tls_cert);
  serve_cmd
      ->add_option("--tls-client-ca", options.tls.client_ca_path,
                   "Answer only HTTPS clients with a certificate this CA (PEM) signed")
      ->needs(tls_cert);
  add_ops_options(serve_cmd, &args->ops);
  serve_cmd->add_flag("--guardian", args->with_guardian,
                      "Also run the guardian's loop (options as for `authsvc guardian`)");
  add_guardian_options(serve_cmd, &args->guardian);
  serve_cmd->callback([&cli, args] {
    args->options.throttle.window = std::chrono::seconds(args->throttle_window);
    args->options.throttle.cooloff = std::chrono::seconds(args->throttle_cooloff);
    args->options.ops = ops_settings(args->ops);
    cli.action = [&cli, args] {
      check_node_name(args->options.node_name);
      args->options.store = cli.store();
      for (const std::string& name : args->options.internal_users) {
        if (std::string problem = internal_user_problem(name); !problem.empty()) {
          throw CLI::ValidationError("--internal-user", "'" + printable(name) + "': " + problem);
        }
      }
      if (args->with_guardian) {
        complete_guardian_setup(&args->guardian);
        args->options.guardian = args->guardian.config;
      }
      return serve(args->options);
    };
  });
}

}  // namespace authsvc
