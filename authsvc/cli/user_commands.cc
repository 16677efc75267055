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
#include "authsvc/core/error.h"
#include "authsvc/core/words.h"
#include "authsvc/store/store.h"

namespace authsvc {
namespace {

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
    if (fields.size() > 2) throw Error(fmt::format("{}:{}: expected NAME [EMAIL]", path, number));
    users.push_back(NewUser{fields[0], fields.size() > 1 ? fields[1] : "", {}, {}});
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
  explicit LazyStore(const std::string& db_path) : db_path_(db_path) {}
  Store* operator->() {
    if (!store_) store_ = open_store(db_path_, Actor{"cli", operator_name()});
    return store_.get();
  }

 private:
  std::string db_path_;
  std::unique_ptr<Store> store_;
};

struct UserArgs {
  std::string name;
  std::string email;
  std::string tags;
  std::string vhosts = "/";
  std::string import_file = "-";
  std::optional<std::string> set_email;
  std::optional<std::string> set_tags;
  std::optional<std::string> set_vhosts;
  std::optional<std::string> set_queue_warn;
  std::optional<std::string> set_queue_delete;
};

int add_user(LazyStore& store, const UserArgs& args) {
  std::string token =
      store->add_user(NewUser{args.name, args.email, words(args.tags), words(args.vhosts)});
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

int list_users(LazyStore& store) {
  std::vector<UserInfo> users = store->list_users();
  fmt::print("{:<24} {:<8} {:<32} {:<16} {}\n", "NAME", "STATUS", "EMAIL", "VHOSTS", "TAGS");
  for (const UserInfo& u : users) {
    fmt::print("{:<24} {:<8} {:<32} {:<16} {}\n", u.name, u.active ? "active" : "disabled", u.email,
               join_words(u.vhosts), join_words(u.tags));
  }
  return 0;
}

int show_user(LazyStore& store, const UserArgs& args) {
  std::optional<UserInfo> user = store->find_user(args.name);
  if (!user) throw StoreError(fmt::format("no such user '{}'", args.name));
  print_user(*user);
  return 0;
}

int rotate_token(LazyStore& store, const UserArgs& args) {
  std::string token = store->rotate_token(args.name);
  fmt::print("rotated the token of {}; the new token follows and is not shown again\n{}\n",
             args.name, token);
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
  if (!args.set_email && !args.set_tags && !args.set_vhosts && !args.set_queue_warn &&
      !args.set_queue_delete) {
    throw CLI::ValidationError(
        "user set", "give at least one of --email, --tags, --vhosts, --queue-warn, --queue-delete");
  }
  UserUpdate update;
  update.email = args.set_email;
  if (args.set_tags) update.tags = words(*args.set_tags);
  if (args.set_vhosts) update.vhosts = words(*args.set_vhosts);
  update.queue_warn = queue_threshold(args.set_queue_warn);
  update.queue_delete = queue_threshold(args.set_queue_delete);
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
        LazyStore store(cli.db_path);
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

  CLI::App* add = name_command("add", "Create a user; prints its token, once", add_user);
  add->add_option("--email", args->email, "Owner's e-mail address");
  add->add_option("--tags", args->tags, "Broker tags, space-separated");
  add->add_option("--vhosts", args->vhosts, "Vhosts the user may use, space-separated")
      ->capture_default_str();

  CLI::App* import =
      command("import",
              "Create many users at once from lines \"NAME [EMAIL]\"; prints \"NAME TOKEN\" lines",
              import_users);
  import->add_option("--file", args->import_file, "Input file, or - for stdin")
      ->capture_default_str();
  import->add_option("--tags", args->tags, "Broker tags for all, space-separated");
  import->add_option("--vhosts", args->vhosts, "Vhosts for all, space-separated")
      ->capture_default_str();

  command("list", "List users",
          [](LazyStore& store, const UserArgs&) { return list_users(store); });
  name_command("show", "Show one user (never its token)", show_user);
  name_command("rotate", "Issue a new token; the old one stops working", rotate_token);
  name_command("disable", "Refuse the user's logins and requests",
               [](LazyStore& store, const UserArgs& a) { return set_active(store, a, false); });
  name_command("enable", "Allow a disabled user again",
               [](LazyStore& store, const UserArgs& a) { return set_active(store, a, true); });
  name_command("delete", "Delete the user", delete_user);
  CLI::App* set =
      name_command("set", "Change a user's e-mail, tags, vhosts or queue limits", update_user);
  set->add_option("--queue-warn", args->set_queue_warn,
                  "Messages that make the guardian warn about this user's queues ('default': "
                  "the guardian's --warn)");
  set->add_option("--queue-delete", args->set_queue_delete,
                  "Messages that make the guardian delete this user's queues ('default': the "
                  "guardian's --delete)");
  set->add_option("--email", args->set_email, "Owner's e-mail address");
  set->add_option("--tags", args->set_tags, "Broker tags, space-separated (\"\" for none)");
  set->add_option("--vhosts", args->set_vhosts, "Vhosts, space-separated");
}

}  // namespace authsvc
