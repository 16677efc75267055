// `authsvc user ...`: managing users in the store. Each change is audited by
// the store, in the same transaction, with the operator's name.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "authsvc/cli/command.h"
#include "authsvc/core/duration.h"
#include "authsvc/core/error.h"
#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/words.h"
#include "authsvc/store/store.h"

namespace authsvc {
namespace {

// The CLI takes lists separated by spaces, tabs or commas.
std::vector<std::string> words(const std::string& text) { return split_words(text, " \t,"); }

std::string status_of(const UserInfo& u, std::chrono::system_clock::time_point now) {
  if (!u.active) return "disabled";
  if (!u.expires_at.empty() && has_passed(u.expires_at, now)) return "expired";
  return "active";
}

// "token", "legacy", or "token+grace" while a previous credential logs in.
std::string credential_of(const UserInfo& u, std::chrono::system_clock::time_point now) {
  std::string text = u.credential == CredentialScheme::token ? "token" : "legacy";
  if (!u.previous_valid_until.empty() && !has_passed(u.previous_valid_until, now)) text += "+grace";
  return text;
}

void print_user(const UserInfo& u, std::chrono::system_clock::time_point now) {
  fmt::print("name:          {}\n", u.name);
  fmt::print("status:        {}\n", status_of(u, now));
  fmt::print(
      "owners:        {}\n",
      u.owners.empty()
          ? fmt::format("none (imported; add one: authsvc user owner add {} ADDRESS)", u.name)
          : join_words(u.owners, ", "));
  if (u.credential == CredentialScheme::token) {
    fmt::print("credential:    token, issued {}\n", u.credential_issued_at);
  } else {
    fmt::print(
        "credential:    legacy ({}), imported from RabbitMQ; replaced by a token at the "
        "next rotate\n",
        to_string(u.credential));
  }
  if (!u.previous_valid_until.empty()) {
    fmt::print("previous:      {} {}\n",
               has_passed(u.previous_valid_until, now) ? "grace ended" : "logs in until",
               u.previous_valid_until);
  }
  std::string expires = u.expires_at.empty() ? "never" : u.expires_at;
  if (!u.expires_at.empty() && has_passed(u.expires_at, now)) expires += " (expired)";
  fmt::print("expires:       {}\n", expires);
  if (u.expiry_notice_lead) {
    fmt::print("expiry notice: sent {} before\n",
               format_duration(std::chrono::seconds(*u.expiry_notice_lead)));
  }
  fmt::print("tags:          {}\n", join_words(u.tags));
  fmt::print("vhosts:        {}\n", join_words(u.vhosts));
  fmt::print("created:       {}\n", u.created_at);
  fmt::print("updated:       {}\n", u.updated_at);
  auto limit = [](std::optional<std::int64_t> v) {
    return v ? fmt::format("{} messages", *v) : std::string("the guardian's default");
  };
  fmt::print("queue warn:    {}\n", limit(u.queue_warn));
  fmt::print("queue delete:  {}\n", limit(u.queue_delete));
  fmt::print("over limit:    {}\n", u.over_limit
                                        ? fmt::format("{} the queue", to_string(*u.over_limit))
                                        : std::string("the guardian's default"));
}

// --expires: "" (never) or RFC 3339 UTC, as the store keeps it. Whether it
// is in the future, the store checks.
std::string expiry(const std::string& when, const char* command) {
  std::string error;
  std::optional<When> parsed = parse_when(when, std::chrono::system_clock::now(), &error);
  if (!parsed) throw CLI::ValidationError(command, "--expires: " + error);
  if (std::holds_alternative<Never>(*parsed)) return "";
  return rfc3339_utc(std::get<std::chrono::system_clock::time_point>(*parsed));
}

// "NAME OWNER [OWNER...]" lines; blank lines and '#' comments are skipped.
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
    if (fields.size() < 2) {
      throw Error(fmt::format("{}:{}: expected NAME OWNER [OWNER...]", path, number));
    }
    users.push_back(NewUser{fields[0], {fields.begin() + 1, fields.end()}, {}, {}, ""});
  }
  return users;
}

// --queue-warn/--queue-delete: no change (not given), back to the
// guardian's default ("default"), or a count of messages.
std::optional<std::optional<std::int64_t>> queue_threshold(
    const std::optional<std::string>& given) {
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
}

// The store, opened when a command first needs it: after the command has
// checked its own arguments, so that a usage error is one whatever the
// database.
class LazyStore {
 public:
  explicit LazyStore(StoreLocation location) : location_(std::move(location)) {}
  Store* operator->() {
    if (!store_) store_ = open_store(location_, Actor{"cli", operator_name()});
    return store_.get();
  }

 private:
  StoreLocation location_;
  std::unique_ptr<Store> store_;
};

struct UserArgs {
  std::string name;
  std::vector<std::string> owners;  // --owner, and --email for old scripts
  std::string address;              // user owner add/remove
  std::optional<std::string> expires;
  std::string grace = "0";
  std::optional<std::string> list_owner;
  bool list_no_owner = false;
  std::string tags;
  std::string vhosts = "/";
  std::string import_file = "-";
  std::optional<std::string> set_email;  // refused: see update_user
  std::optional<std::string> set_tags;
  std::optional<std::string> set_vhosts;
  std::optional<std::string> set_queue_warn;
  std::optional<std::string> set_queue_delete;
  std::optional<std::string> set_over_limit;
};

int add_user(LazyStore& store, const UserArgs& args) {
  std::string expires_at = args.expires ? expiry(*args.expires, "user add") : "";
  std::string token = store->add_user(
      NewUser{args.name, args.owners, words(args.tags), words(args.vhosts), expires_at});
  fmt::print("created user {}; its token follows and is not shown again\n{}\n", args.name, token);
  return 0;
}

int import_users(LazyStore& store, const UserArgs& args) {
  std::vector<NewUser> users = read_user_lines(args.import_file);
  for (NewUser& user : users) {
    user.tags = words(args.tags);
    user.vhosts = words(args.vhosts);
  }
  std::vector<std::string> tokens = store->add_users(users, "user import");
  fmt::print(stderr, "imported {} users; their tokens follow and are not shown again\n",
             users.size());
  std::string out;
  for (std::size_t i = 0; i < users.size(); ++i) out += users[i].name + " " + tokens[i] + "\n";
  fmt::print("{}", out);
  return 0;
}

int list_users(LazyStore& store, const UserArgs& args) {
  if (args.list_owner && args.list_no_owner) {
    throw CLI::ValidationError("user list", "give --owner or --no-owner, not both");
  }
  std::vector<UserInfo> users =
      args.list_owner ? store->users_owned_by(*args.list_owner) : store->list_users();
  auto now = std::chrono::system_clock::now();
  fmt::print("{:<24} {:<8} {:<11} {:<20} {:<32} {:<16} {}\n", "NAME", "STATUS", "CREDENTIAL",
             "EXPIRES", "OWNERS", "VHOSTS", "TAGS");
  for (const UserInfo& u : users) {
    if (args.list_no_owner && !u.owners.empty()) continue;
    std::string expires = u.expires_at.empty() ? "never" : u.expires_at.substr(0, 19) + "Z";
    fmt::print("{:<24} {:<8} {:<11} {:<20} {:<32} {:<16} {}\n", u.name, status_of(u, now),
               credential_of(u, now), expires, u.owners.empty() ? "-" : join_words(u.owners, ","),
               join_words(u.vhosts), join_words(u.tags));
  }
  return 0;
}

int show_user(LazyStore& store, const UserArgs& args) {
  std::optional<UserInfo> user = store->find_user(args.name);
  if (!user) throw StoreError(fmt::format("no such user '{}'", args.name));
  print_user(*user, std::chrono::system_clock::now());
  return 0;
}

int rotate_token(LazyStore& store, const UserArgs& args) {
  std::optional<std::chrono::seconds> grace = parse_duration(args.grace);
  if (!grace) {
    throw CLI::ValidationError("user rotate", "--grace: '" + printable(args.grace) +
                                                  "' is not a duration (0, 90s, 30m, 2h, 7d)");
  }
  std::string token = store->rotate_token(args.name, *grace);
  if (grace->count() == 0) {
    fmt::print("rotated the token of {}; the new token follows and is not shown again\n{}\n",
               args.name, token);
  } else {
    fmt::print(
        "rotated the token of {}; the previous credential logs in until {}; the new token "
        "follows and is not shown again\n{}\n",
        args.name, store->find_user(args.name)->previous_valid_until, token);
  }
  return 0;
}

int add_owner(LazyStore& store, const UserArgs& args) {
  store->add_owner(args.name, args.address);
  fmt::print("{} owns {}\n", args.address, args.name);
  return 0;
}

int remove_owner(LazyStore& store, const UserArgs& args) {
  store->remove_owner(args.name, args.address);
  fmt::print("{} no longer owns {}\n", args.address, args.name);
  return 0;
}

int set_active(LazyStore& store, const UserArgs& args, bool active) {
  store->set_active(args.name, active);
  fmt::print("{} {}\n", active ? "enabled" : "disabled", args.name);
  return 0;
}

int delete_user(LazyStore& store, const UserArgs& args) {
  store->delete_user(args.name);
  fmt::print("deleted {}\n", args.name);
  return 0;
}

int update_user(LazyStore& store, const UserArgs& args) {
  if (args.set_email) {
    throw CLI::ValidationError("user set",
                               "--email: an account has owners now; change them with "
                               "`authsvc user owner add|remove NAME ADDRESS`");
  }
  if (!args.set_tags && !args.set_vhosts && !args.set_queue_warn && !args.set_queue_delete &&
      !args.set_over_limit && !args.expires) {
    throw CLI::ValidationError("user set",
                               "give at least one of --tags, --vhosts, --queue-warn, "
                               "--queue-delete, --over-limit, --expires");
  }
  UserUpdate update;
  if (args.set_tags) update.tags = words(*args.set_tags);
  if (args.set_vhosts) update.vhosts = words(*args.set_vhosts);
  update.queue_warn = queue_threshold(args.set_queue_warn);
  update.queue_delete = queue_threshold(args.set_queue_delete);
  if (args.set_over_limit) {
    // The choices are checked by CLI11 (below).
    update.over_limit = *args.set_over_limit == "default"
                            ? std::optional<OverLimit>()
                            : over_limit_from_string(*args.set_over_limit);
  }
  if (args.expires) update.expires_at = expiry(*args.expires, "user set");
  store->update_user(args.name, update);
  fmt::print("updated {}\n", args.name);
  return 0;
}

}  // namespace

void add_user_commands(CLI::App& app, CommandLine& cli) {
  auto args = std::make_shared<UserArgs>();
  CLI::App* user = app.add_subcommand("user", "Manage users");
  user->require_subcommand(1);
  // Registers `user NAME`; once parsed, its action runs `run`.
  auto command = [&cli, args, user](const char* name, const char* help,
                                    std::function<int(LazyStore&, const UserArgs&)> run) {
    CLI::App* cmd = user->add_subcommand(name, help);
    cmd->callback([&cli, args, run] {
      cli.action = [&cli, args, run] {
        LazyStore store(cli.store());
        return run(store, *args);
      };
    });
    return cmd;
  };
  auto name_command = [&](const char* name, const char* help,
                          std::function<int(LazyStore&, const UserArgs&)> run) {
    CLI::App* cmd = command(name, help, std::move(run));
    cmd->add_option("name", args->name, "User name")->required();
    return cmd;
  };

  const char* when_help =
      "When the account stops working: an RFC 3339 time, a duration from now (90d, 12h), or "
      "'never'";
  CLI::App* add = name_command("add", "Create a user; prints its token, once", add_user);
  add->add_option("--owner", args->owners, "An owner's e-mail address (repeat for more)");
  // --email is what scripts from before owners use: one more owner.
  add->add_option("--email", args->owners, "The same as --owner");
  add->add_option("--expires", args->expires, when_help);
  add->add_option("--tags", args->tags, "Broker tags, space-separated");
  add->add_option("--vhosts", args->vhosts, "Vhosts the user may use, space-separated")
      ->capture_default_str();

  CLI::App* import =
      command("import",
              "Create many users at once from lines \"NAME OWNER [OWNER...]\"; prints \"NAME "
              "TOKEN\" lines",
              import_users);
  import->add_option("--file", args->import_file, "Input file, or - for stdin")
      ->capture_default_str();
  import->add_option("--tags", args->tags, "Broker tags for all, space-separated");
  import->add_option("--vhosts", args->vhosts, "Vhosts for all, space-separated")
      ->capture_default_str();

  CLI::App* list = command("list", "List users", list_users);
  list->add_option("--owner", args->list_owner, "Only the accounts this address owns");
  list->add_flag("--no-owner", args->list_no_owner, "Only the accounts without an owner");
  name_command("show", "Show one user (never its token)", show_user);
  CLI::App* rotate = name_command(
      "rotate", "Issue a new token; the old credential logs in for --grace more", rotate_token);
  rotate
      ->add_option("--grace", args->grace,
                   "How long the previous credential still logs in: 0 (default) to 7d")
      ->capture_default_str();

  CLI::App* owner = user->add_subcommand("owner", "Add or remove an account's owners");
  owner->require_subcommand(1);
  for (auto [verb, help, run] :
       {std::tuple{"add", "Add an owner (an e-mail address)", &add_owner},
        std::tuple{"remove", "Remove an owner; never the last one", &remove_owner}}) {
    CLI::App* cmd = owner->add_subcommand(verb, help);
    cmd->add_option("name", args->name, "User name")->required();
    cmd->add_option("address", args->address, "E-mail address")->required();
    cmd->callback([&cli, args, run = run] {
      cli.action = [&cli, args, run] {
        LazyStore store(cli.store());
        return run(store, *args);
      };
    });
  }
  name_command("disable", "Refuse the user's logins and requests",
               [](LazyStore& store, const UserArgs& a) { return set_active(store, a, false); });
  name_command("enable", "Allow a disabled user again",
               [](LazyStore& store, const UserArgs& a) { return set_active(store, a, true); });
  name_command("delete", "Delete the user", delete_user);
  CLI::App* set = name_command(
      "set", "Change a user's tags, vhosts, queue limits, over-limit mode or expiry", update_user);
  set->add_option("--expires", args->expires, when_help);
  set->add_option("--queue-warn", args->set_queue_warn,
                  "Messages that make the guardian warn about this user's queues ('default': "
                  "the guardian's --warn)");
  set->add_option("--queue-delete", args->set_queue_delete,
                  "Messages that make the guardian delete this user's queues ('default': the "
                  "guardian's --delete)");
  set->add_option("--over-limit", args->set_over_limit,
                  "What the guardian does with this user's queue past its deletion threshold: "
                  "delete it, cap it there with a policy (its oldest messages dropped, its "
                  "consumers and bindings kept), or 'default' (the guardian's --over-limit)")
      ->check(CLI::IsMember({"delete", "cap", "default"}));
  set->add_option("--email", args->set_email, "Refused: use `user owner add|remove`");
  set->add_option("--tags", args->set_tags, "Broker tags, space-separated (\"\" for none)");
  set->add_option("--vhosts", args->set_vhosts, "Vhosts, space-separated");
}

}  // namespace authsvc
