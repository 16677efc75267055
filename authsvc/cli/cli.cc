#include "authsvc/cli/cli.h"

#include <fmt/format.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>

#include "authsvc/cli/guardian_cli.h"
#include "authsvc/core/auth_request.h"
#include "authsvc/core/decision.h"
#include "authsvc/core/error.h"
#include "authsvc/core/words.h"
#include "authsvc/server/rules_file.h"
#include "authsvc/server/serve.h"
#include "authsvc/server/store_watcher.h"
#include "authsvc/store/store.h"

namespace authsvc {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::string default_db_path() {
  const char* env = std::getenv("AUTHSVC_DB");
  return env && *env ? env : "./authsvc.db";
}

// Who runs the command, for the audit trail: the account behind sudo when
// there is one.
std::string operator_name() {
  if (const char* sudo_user = std::getenv("SUDO_USER"); sudo_user && *sudo_user) return sudo_user;
  if (const passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return "uid " + std::to_string(getuid());
}

// The CLI takes lists separated by spaces, tabs or commas.
std::vector<std::string> words(const std::string& text) { return split_words(text, " \t,"); }

void print_user(const UserInfo& u) {
  fmt::print("name:          {}\n", u.name);
  fmt::print("status:        {}\n", u.active ? "active" : "disabled");
  fmt::print("email:         {}\n", u.email);
  fmt::print("tags:          {}\n", join_words(u.tags));
  fmt::print("vhosts:        {}\n", join_words(u.vhosts));
  fmt::print("created:       {}\n", u.created_at);
  fmt::print("updated:       {}\n", u.updated_at);
  fmt::print("token rotated: {}\n", u.token_rotated_at);
  auto limit = [](std::optional<std::int64_t> v) {
    return v ? fmt::format("{} messages", *v) : std::string("the guardian's default");
  };
  fmt::print("queue warn:    {}\n", limit(u.queue_warn));
  fmt::print("queue delete:  {}\n", limit(u.queue_delete));
}

// "NAME [EMAIL]" lines; blank lines and '#' comments are skipped.
std::vector<NewUser> read_user_lines(const std::string& path) {
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file) throw Error("cannot read '" + path + "'");
  }
  std::istream& in = path == "-" ? std::cin : file;
  std::vector<NewUser> users;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::vector<std::string> fields = words(line);
    if (fields.empty() || fields[0][0] == '#') continue;
    if (fields.size() > 2) {
      throw Error(fmt::format("{}:{}: expected NAME [EMAIL]", path, number));
    }
    users.push_back(NewUser{fields[0], fields.size() > 1 ? fields[1] : "", {}, {}});
  }
  return users;
}

struct UserArgs {
  std::string name;
  std::string email;
  std::string tags;
  std::string vhosts = "/";
  std::optional<std::string> set_email;
  std::optional<std::string> set_tags;
  std::optional<std::string> set_vhosts;
  std::optional<std::string> set_queue_warn;
  std::optional<std::string> set_queue_delete;
};

struct CheckArgs {
  std::string user;
  std::string resource;
  std::string name;
  std::string permission;
  std::string vhost = "/";
  std::string routing_key;
  std::string rules_path;
};

int check(const std::string& db_path, const CheckArgs& args) {
  std::shared_ptr<const Rules> rules = load_rules(args.rules_path);
  std::unique_ptr<Store> store = open_store(db_path, Actor{"cli", operator_name()});
  std::shared_ptr<const Snapshot> snapshot = StoreWatcher::load(*store, rules);

  AuthRequest request;
  request.endpoint = args.resource == "topic" ? Endpoint::topic : Endpoint::resource;
  request.username = args.user;
  request.vhost = args.vhost;
  request.resource = *resource_kind_from_string(args.resource);
  request.name = args.name;
  request.permission = *permission_from_string(args.permission);
  request.routing_key = args.routing_key;
  Decision decision = decide(request, *snapshot);
  fmt::print("{}\nrule: {}\nreason: {}\n", decision.allow ? "allow" : "deny", decision.rule,
             decision.reason);
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  // Everything this process creates (the database, its WAL, the audit log)
  // is for the service account alone: it holds token hashes and an audit trail.
  umask(077);
  // Past a file-size limit (ulimit -f) a write should fail with EFBIG, which
  // the audit log reports and retries, instead of SIGXFSZ killing the server.
  signal(SIGXFSZ, SIG_IGN);

  CLI::App app{"authsvc: RabbitMQ HTTP auth backend enforcing the Pulse security model"};
  app.require_subcommand(1);
  // Options like --db may follow a subcommand: `authsvc user add bob --db x.db`.
  app.fallthrough();
  std::string db_path = default_db_path();
  app.add_option("--db", db_path, "SQLite database (default: $AUTHSVC_DB, then ./authsvc.db)");

  // Each command sets the action it runs once parsing succeeded.
  std::function<int()> action;

  CLI::App* init_cmd =
      app.add_subcommand("init", "Create the database, or bring an existing one to this schema");
  init_cmd->callback([&] {
    action = [&] {
      std::unique_ptr<Store> store =
          open_store(db_path, Actor{"cli", operator_name()}, OpenMode::create_if_missing);
      fmt::print("database {} is ready (schema version {}, {} users)\n", db_path,
                 store->schema_version(), store->list_users().size());
      return 0;
    };
  });

  ServeOptions serve_options;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Answer RabbitMQ's HTTP auth requests");
  serve_cmd->add_option("--listen", serve_options.listen, "HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  serve_cmd->add_option("--rules", serve_options.rules_path,
                        "Rules file (default: the built-in rules/pulse.rules)");
  serve_cmd->add_option("--audit-log", serve_options.audit_log, "Audit log file, or - for stdout")
      ->capture_default_str();
  serve_cmd
      ->add_option("--threads", serve_options.threads,
                   "HTTP event-loop threads (each serves many connections)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  unsigned throttle_window = 60;
  unsigned throttle_cooloff = 60;
  serve_cmd
      ->add_option("--login-failures", serve_options.throttle.max_failures,
                   "Failed logins for one user within --login-window that start a cool-off "
                   "(0: no throttling)")
      ->capture_default_str();
  serve_cmd->add_option("--login-window", throttle_window, "Seconds")->capture_default_str();
  serve_cmd
      ->add_option("--login-cooloff", throttle_cooloff,
                   "Seconds during which that user's logins are refused unchecked")
      ->capture_default_str();
  CLI::Option* tls_cert =
      serve_cmd->add_option("--tls-cert", serve_options.tls.cert_path,
                            "Serve HTTPS with this certificate chain (PEM, leaf first)");
  CLI::Option* tls_key = serve_cmd->add_option("--tls-key", serve_options.tls.key_path,
                                               "Private key of --tls-cert (PEM, unencrypted)");
  tls_cert->needs(tls_key);
  tls_key->needs(tls_cert);
  serve_cmd
      ->add_option("--tls-client-ca", serve_options.tls.client_ca_path,
                   "Answer only HTTPS clients with a certificate this CA (PEM) signed")
      ->needs(tls_cert);
  bool with_guardian = false;
  GuardianSetup guardian_setup;
  serve_cmd->add_flag("--guardian", with_guardian,
                      "Also run the guardian's loop (options as for `authsvc guardian`)");
  add_guardian_options(serve_cmd, &guardian_setup);
  serve_cmd->callback([&] {
    serve_options.throttle.window = std::chrono::seconds(throttle_window);
    serve_options.throttle.cooloff = std::chrono::seconds(throttle_cooloff);
    action = [&] {
      serve_options.db_path = db_path;
      if (with_guardian) {
        complete_guardian_setup(&guardian_setup);
        serve_options.guardian = guardian_setup.config;
      }
      return serve(serve_options);
    };
  });

  UserArgs user_args;
  CLI::App* user_cmd = app.add_subcommand("user", "Manage users");
  user_cmd->require_subcommand(1);
  auto store = [&] { return open_store(db_path, Actor{"cli", operator_name()}); };

  CLI::App* add = user_cmd->add_subcommand("add", "Create a user; prints its token, once");
  add->add_option("name", user_args.name, "User name")->required();
  add->add_option("--email", user_args.email, "Owner's e-mail address");
  add->add_option("--tags", user_args.tags, "Broker tags, space-separated");
  add->add_option("--vhosts", user_args.vhosts, "Vhosts the user may use, space-separated")
      ->capture_default_str();
  add->callback([&] {
    action = [&] {
      std::string token = store()->add_user(
          NewUser{user_args.name, user_args.email, words(user_args.tags), words(user_args.vhosts)});
      fmt::print("created user {}; its token follows and is not shown again\n{}\n", user_args.name,
                 token);
      return 0;
    };
  });

  std::string import_file = "-";
  CLI::App* import_cmd = user_cmd->add_subcommand(
      "import",
      "Create many users at once from lines \"NAME [EMAIL]\"; prints \"NAME TOKEN\" lines");
  import_cmd->add_option("--file", import_file, "Input file, or - for stdin")
      ->capture_default_str();
  import_cmd->add_option("--tags", user_args.tags, "Broker tags for all, space-separated");
  import_cmd->add_option("--vhosts", user_args.vhosts, "Vhosts for all, space-separated")
      ->capture_default_str();
  import_cmd->callback([&] {
    action = [&] {
      std::vector<NewUser> users = read_user_lines(import_file);
      for (NewUser& user : users) {
        user.tags = words(user_args.tags);
        user.vhosts = words(user_args.vhosts);
      }
      std::vector<std::string> tokens = store()->add_users(users, "user import");
      fmt::print(stderr, "imported {} users; their tokens follow and are not shown again\n",
                 users.size());
      std::string out;
      for (std::size_t i = 0; i < users.size(); ++i) {
        out += users[i].name + " " + tokens[i] + "\n";
      }
      fmt::print("{}", out);
      return 0;
    };
  });

  CLI::App* list = user_cmd->add_subcommand("list", "List users");
  list->callback([&] {
    action = [&] {
      std::vector<UserInfo> users = store()->list_users();
      fmt::print("{:<24} {:<8} {:<32} {:<16} {}\n", "NAME", "STATUS", "EMAIL", "VHOSTS", "TAGS");
      for (const UserInfo& u : users) {
        fmt::print("{:<24} {:<8} {:<32} {:<16} {}\n", u.name, u.active ? "active" : "disabled",
                   u.email, join_words(u.vhosts), join_words(u.tags));
      }
      return 0;
    };
  });

  auto name_command = [&](const char* name, const char* help, std::function<int()> run) {
    CLI::App* cmd = user_cmd->add_subcommand(name, help);
    cmd->add_option("name", user_args.name, "User name")->required();
    cmd->callback([&action, run] { action = run; });
    return cmd;
  };
  name_command("show", "Show one user (never its token)", [&] {
    std::optional<UserInfo> user = store()->find_user(user_args.name);
    if (!user) throw StoreError(fmt::format("no such user '{}'", user_args.name));
    print_user(*user);
    return 0;
  });
  name_command("rotate", "Issue a new token; the old one stops working", [&] {
    std::string token = store()->rotate_token(user_args.name);
    fmt::print("rotated the token of {}; the new token follows and is not shown again\n{}\n",
               user_args.name, token);
    return 0;
  });
  name_command("disable", "Refuse the user's logins and requests", [&] {
    store()->set_active(user_args.name, false);
    fmt::print("disabled {}\n", user_args.name);
    return 0;
  });
  name_command("enable", "Allow a disabled user again", [&] {
    store()->set_active(user_args.name, true);
    fmt::print("enabled {}\n", user_args.name);
    return 0;
  });
  name_command("delete", "Delete the user", [&] {
    store()->delete_user(user_args.name);
    fmt::print("deleted {}\n", user_args.name);
    return 0;
  });
  CLI::App* set = name_command("set", "Change a user's e-mail, tags, vhosts or queue limits", [&] {
    if (!user_args.set_email && !user_args.set_tags && !user_args.set_vhosts &&
        !user_args.set_queue_warn && !user_args.set_queue_delete) {
      throw CLI::ValidationError(
          "user set",
          "give at least one of --email, --tags, --vhosts, --queue-warn, --queue-delete");
    }
    auto threshold =
        [](const std::optional<std::string>& given) -> std::optional<std::optional<std::int64_t>> {
      if (!given) return std::nullopt;
      if (*given == "default") return std::optional<std::int64_t>();
      std::int64_t value = 0;
      auto [end, error] = std::from_chars(given->data(), given->data() + given->size(), value);
      if (error != std::errc() || end != given->data() + given->size() || value <= 0) {
        throw CLI::ValidationError("user set",
                                   "a queue threshold is a count of messages above 0, or "
                                   "'default'; got '" +
                                       *given + "'");
      }
      return std::optional<std::int64_t>(value);
    };
    UserUpdate update;
    update.email = user_args.set_email;
    if (user_args.set_tags) update.tags = words(*user_args.set_tags);
    if (user_args.set_vhosts) update.vhosts = words(*user_args.set_vhosts);
    update.queue_warn = threshold(user_args.set_queue_warn);
    update.queue_delete = threshold(user_args.set_queue_delete);
    store()->update_user(user_args.name, update);
    fmt::print("updated {}\n", user_args.name);
    return 0;
  });
  set->add_option("--queue-warn", user_args.set_queue_warn,
                  "Messages that make the guardian warn about this user's queues ('default': "
                  "the guardian's --warn)");
  set->add_option("--queue-delete", user_args.set_queue_delete,
                  "Messages that make the guardian delete this user's queues ('default': the "
                  "guardian's --delete)");
  set->add_option("--email", user_args.set_email, "Owner's e-mail address");
  set->add_option("--tags", user_args.set_tags, "Broker tags, space-separated (\"\" for none)");
  set->add_option("--vhosts", user_args.set_vhosts, "Vhosts, space-separated");

  CheckArgs check_args;
  CLI::App* check_cmd =
      app.add_subcommand("check", "Show the decision for one resource or topic access");
  check_cmd->add_option("--user", check_args.user, "User name")->required();
  check_cmd->add_option("--resource", check_args.resource, "exchange, queue or topic")
      ->required()
      ->check(CLI::IsMember({"exchange", "queue", "topic"}));
  check_cmd->add_option("--name", check_args.name, "Resource name (topic: the exchange)")
      ->required();
  check_cmd->add_option("--permission", check_args.permission, "configure, write or read")
      ->required()
      ->check(CLI::IsMember({"configure", "write", "read"}));
  check_cmd->add_option("--vhost", check_args.vhost, "Vhost")->capture_default_str();
  check_cmd->add_option("--routing-key", check_args.routing_key, "Routing key (topic)");
  check_cmd->add_option("--rules", check_args.rules_path,
                        "Rules file (default: the built-in rules/pulse.rules)");
  check_cmd->callback([&] { action = [&] { return check(db_path, check_args); }; });

  add_guardian_commands(app, db_path, operator_name, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "authsvc: {}\n", e.what());
    fmt::print(stderr, "Run with --help for more information.\n");
    return kExitUsage;
  }
  try {
    return action();
  } catch (const CLI::ValidationError& e) {
    fmt::print(stderr, "authsvc: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "authsvc: {}\n", e.what());
    return kExitFailure;
  }
}

}  // namespace authsvc
