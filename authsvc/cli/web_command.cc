// `authsvc web`: its options, into WebRunOptions (web/run_web.h).
#include <CLI/CLI.hpp>
#include <memory>

#include "authsvc/cli/command.h"
#include "authsvc/cli/guardian_cli.h"
#include "authsvc/cli/password_file.h"
#include "authsvc/core/duration.h"
#include "authsvc/core/text.h"
#include "authsvc/web/run_web.h"

namespace authsvc {
void add_web_command(CLI::App& app, CommandLine& cli) {
  struct WebArgs {
    WebRunOptions options;
    std::string oidc_issuer;
    std::string oidc_client_id;
    std::string oidc_secret_file;
    std::vector<std::string> require_claims;
    std::string session_idle = "2h";
    std::string session_lifetime = "12h";
    std::string api_key_lifetime = "90d";
    GuardianSetup management;
    OpsOptions ops;
  };
  auto args = std::make_shared<WebArgs>();
  WebRunOptions& options = args->options;
  WebOptions& web = options.web;
  CLI::App* cmd = app.add_subcommand(
      "web",
      "Self-service web UI and JSON API: people sign in (OpenID Connect) and manage "
      "their own accounts");
  cmd->add_option("--listen", options.listen, "HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--public-url", web.public_url,
                  "Where people reach it, https://HOST[:PORT] (behind a TLS-terminating proxy); "
                  "the redirect URI is this plus /callback")
      ->required();
  CLI::Option* issuer =
      cmd->add_option("--oidc-issuer", args->oidc_issuer, "OpenID provider's issuer URL");
  CLI::Option* client_id =
      cmd->add_option("--oidc-client-id", args->oidc_client_id, "This site's client id there");
  CLI::Option* secret = cmd->add_option("--oidc-client-secret-file", args->oidc_secret_file,
                                        "File whose first line is the client secret");
  issuer->needs(client_id, secret);
  client_id->needs(issuer);
  secret->needs(issuer);
  CLI::Option* dev = cmd->add_flag(
      "--dev-login", web.dev_login,
      "Sign in as any address through a form, without a provider: loopback --listen only");
  dev->excludes(issuer);
  cmd->add_option("--admin", web.admins, "An admin's address (repeat for more)");
  cmd->add_option("--allow-domain", web.allow_domains,
                  "Only addresses in this domain may sign in (repeat for more)");
  cmd->add_option("--require-claim", args->require_claims,
                  "NAME=VALUE the provider must vouch for, e.g. groups=pulse (repeat for more)");
  cmd->add_option("--reserve", web.reserve,
                  "A pattern (RE2, whole name) of account names only admins may create");
  cmd->add_option("--broker-url", web.broker_url,
                  "The AMQP URL shown beside a new token, e.g. amqps://pulse.example.org:5671");
  cmd->add_option("--vhost", web.vhosts, "The vhosts of an account made on the web")
      ->capture_default_str();
  cmd->add_option("--trusted-proxy", web.trusted_proxies,
                  "The address of a reverse proxy whose X-Forwarded-For names the client");
  cmd->add_option("--session-idle", args->session_idle, "A session ends after this long unused")
      ->capture_default_str();
  cmd->add_option("--session-lifetime", args->session_lifetime,
                  "A session ends this long after sign-in, used or not")
      ->capture_default_str();
  cmd->add_option("--api-key-lifetime", args->api_key_lifetime,
                  "The longest an API key lives, and how long one lives unless asked for less")
      ->capture_default_str();
  cmd->add_option("--max-accounts", web.accounts_per_person,
                  "Accounts one person may own (admins: any number)")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  cmd->add_option("--max-api-keys", web.api_keys_per_person, "Live API keys one person may hold")
      ->check(CLI::Range(1u, 10000u))
      ->capture_default_str();
  cmd->add_option("--audit-log", options.audit_log, "Audit log file, or - for stdout")
      ->capture_default_str();
  add_node_name_option(cmd, &options.node_name,
                       "HOST:PORT, the host name and the --listen port, the one it got for port 0");
  cmd->add_option("--threads", options.threads, "HTTP event-loop threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  add_management_options(cmd, &args->management);
  add_ops_options(cmd, &args->ops);
  cmd->add_option("--warn", web.queue_limits.warn, "The guardian's default warning threshold")
      ->capture_default_str();
  cmd->add_option("--delete", web.queue_limits.remove, "The guardian's default deletion threshold")
      ->capture_default_str();
  cmd->callback([&cli, args] {
    WebOptions& web_options = args->options.web;
    for (const std::string& claim : args->require_claims) {
      std::size_t equals = claim.find('=');
      if (equals == std::string::npos || equals == 0) {
        throw CLI::ValidationError("--require-claim",
                                   "'" + printable(claim) + "' is not NAME=VALUE");
      }
      web_options.require_claims.emplace_back(claim.substr(0, equals), claim.substr(equals + 1));
    }
    args->options.ops = ops_settings(args->ops);
    web_options.session_idle = duration_option(args->session_idle, "--session-idle");
    web_options.session_lifetime = duration_option(args->session_lifetime, "--session-lifetime");
    web_options.api_key_lifetime = duration_option(args->api_key_lifetime, "--api-key-lifetime");
    while (!web_options.public_url.empty() && web_options.public_url.back() == '/') {
      web_options.public_url.pop_back();
    }
    cli.action = [&cli, args] {
      WebRunOptions& run = args->options;
      check_node_name(run.node_name);
      run.store = cli.store();
      if (!args->oidc_issuer.empty()) {
        run.oidc = OidcSettings{args->oidc_issuer, args->oidc_client_id,
                                read_password_file(args->oidc_secret_file)};
      }
      if (!args->management.management_password_file.empty() ||
          !args->management.config.management.user.empty()) {
        complete_management_setup(&args->management);
        run.management = args->management.config.management;
      }
      return run_web(run);
    };
  });
}

}  // namespace authsvc
