#include "authsvc/cli/config_file.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iterator>
#include <sstream>

namespace authsvc {
namespace {

// The commands with a table.
const std::vector<std::string>& config_file_commands() {
  static const std::vector<std::string> commands{"serve", "guardian", "web"};
  return commands;
}

// What an option takes, as a TOML value: flags a boolean, the rest a string
// or a number as their C++ type is (CLI11's type name), repeated options an
// array of those.
enum class Kind { boolean, integer, unsigned_integer, number, string };

Kind kind_of(const CLI::Option& option) {
  if (option.get_expected_min() == 0) return Kind::boolean;
  // A check adds to the name after a colon: "UINT:INT in [1 - 64]".
  const std::string name = option.get_type_name();
  const std::string type = name.substr(0, name.find(':'));
  if (type == "INT") return Kind::integer;
  if (type == "UINT") return Kind::unsigned_integer;
  if (type == "FLOAT") return Kind::number;
  return Kind::string;
}

const char* describe(Kind kind) {
  switch (kind) {
    case Kind::boolean:
      return "true or false";
    case Kind::integer:
      return "an integer";
    case Kind::unsigned_integer:
      return "a non-negative integer";
    case Kind::number:
      return "a number";
    case Kind::string:
      return "a string";
  }
  return "";
}

// The same of an array's elements.
const char* describe_elements(Kind kind) {
  switch (kind) {
    case Kind::boolean:
      return "booleans";
    case Kind::integer:
      return "integers";
    case Kind::unsigned_integer:
      return "non-negative integers";
    case Kind::number:
      return "numbers";
    case Kind::string:
      return "strings";
  }
  return "";
}

// The value as CLI11 would have read it from the command line, or nothing
// if it is not of `kind`.
std::optional<std::string> as_text(const toml::node& value, Kind kind) {
  switch (kind) {
    case Kind::boolean:
      if (auto b = value.value_exact<bool>()) return *b ? "true" : "false";
      return std::nullopt;
    case Kind::integer:
      if (auto i = value.value_exact<std::int64_t>()) return std::to_string(*i);
      return std::nullopt;
    case Kind::unsigned_integer:
      if (auto i = value.value_exact<std::int64_t>(); i && *i >= 0) return std::to_string(*i);
      return std::nullopt;
    case Kind::number:
      if (auto i = value.value_exact<std::int64_t>()) return std::to_string(*i);
      if (auto d = value.value_exact<double>()) return fmt::format("{}", *d);
      return std::nullopt;
    case Kind::string:
      if (auto s = value.value_exact<std::string>()) return *s;
      return std::nullopt;
  }
  return std::nullopt;
}

// The table's entries as the file has them: toml++ keeps them sorted by
// name, and the first mistake reported should be the first in the file.
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(
    const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [key, value] : table) entries.emplace_back(&key, &value);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const toml::source_position& x = a.first->source().begin;
    const toml::source_position& y = b.first->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  return entries;
}

class Reader {
 public:
  Reader(const CLI::App& app, const std::string& path) : app_(app), path_(path) {}

  [[noreturn]] void fail(const toml::source_region& where, const std::string& what) const {
    throw ConfigFileError(fmt::format("{}:{}: {}", path_, where.begin.line, what));
  }

  // The table of `command`, each key checked; its items if `wanted`.
  void read_table(const std::string& command, const toml::table& table, bool wanted,
                  std::vector<CLI::ConfigItem>* items) const {
    const CLI::App* cmd = app_.get_subcommand(command);
    for (const auto& [key_ptr, value_ptr] : in_file_order(table)) {
      const toml::key& key = *key_ptr;
      const toml::node& value = *value_ptr;
      const std::string name(key.str());
      // --db and --db-password-file are the app's, not the command's: `db`
      // sets it for this command.
      const CLI::App* owner = name == "db" || name == "db-password-file" ? &app_ : cmd;
      const CLI::Option* option = owner->get_option_no_throw("--" + name);
      if (option == cmd->get_help_ptr() || option == cmd->get_help_all_ptr()) option = nullptr;
      if (!option) {
        // Secrets never sit in this file, which is read by more eyes than
        // the service account's (backups, reviews, the repository it came
        // from): the same holds as on the command line.
        if (cmd->get_option_no_throw("--" + name + "-file") ||
            app_.get_option_no_throw("--" + name + "-file")) {
          fail(key.source(), fmt::format("'{}' in [{}] is not a key: secrets come from files; "
                                         "use '{}-file'",
                                         name, command, name));
        }
        fail(key.source(), fmt::format("unknown key '{}' in [{}]", name, command));
      }
      CLI::ConfigItem item;
      if (owner == cmd) item.parents = {command};
      item.name = name;
      Kind kind = kind_of(*option);
      bool repeated = option->get_expected_max() > 1;
      if (repeated) {
        const toml::array* array = value.as_array();
        if (!array) {
          fail(key.source(), fmt::format("'{}' in [{}] wants an array of {}", name, command,
                                         describe_elements(kind)));
        }
        for (const toml::node& element : *array) {
          std::optional<std::string> text = as_text(element, kind);
          if (!text) {
            fail(element.source(), fmt::format("'{}' in [{}] wants an array of {}", name, command,
                                               describe_elements(kind)));
          }
          item.inputs.push_back(*text);
        }
      } else {
        std::optional<std::string> text = as_text(value, kind);
        if (!text) {
          fail(key.source(), fmt::format("'{}' in [{}] wants {}", name, command, describe(kind)));
        }
        item.inputs.push_back(*text);
      }
      if (wanted) items->push_back(std::move(item));
    }
  }

 private:
  const CLI::App& app_;
  const std::string& path_;
};

// The ConfigItems for `command` from the TOML text `text` of the file
// `path`, each checked against `app`'s options; every table of the text is
// checked.
std::vector<CLI::ConfigItem> read_config_file(const CLI::App& app, const std::string& path,
                                              const std::string& text, const std::string& command) {
  Reader reader(app, path);
  toml::table file;
  try {
    file = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::string description(e.description());
    std::replace(description.begin(), description.end(), '\n', ' ');
    reader.fail(e.source(), description);
  }
  std::vector<CLI::ConfigItem> items;
  for (const auto& [key_ptr, value_ptr] : in_file_order(file)) {
    const toml::key& key = *key_ptr;
    const toml::node& value = *value_ptr;
    const std::string name(key.str());
    const auto& commands = config_file_commands();
    bool known = std::find(commands.begin(), commands.end(), name) != commands.end();
    if (!known && value.is_table()) {
      reader.fail(key.source(), fmt::format("unknown table [{}] (tables: [serve], [guardian], "
                                            "[web])",
                                            name));
    }
    if (!known) {
      reader.fail(key.source(), fmt::format("'{}' is outside any table: keys go in [serve], "
                                            "[guardian] or [web]",
                                            name));
    }
    if (!value.is_table()) reader.fail(key.source(), fmt::format("'{}' must be a table", name));
    reader.read_table(name, *value.as_table(), name == command, &items);
  }
  return items;
}

// CLI11's config reader, for the app that holds the commands. CLI11 opens
// the file and calls from_config once the command line is parsed.
class TomlConfig : public CLI::Config {
 public:
  explicit TomlConfig(const CLI::App* app) : app_(app) {}
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
  // Writing a config file (CLI11's --config output) is not offered.
  std::string to_config(const CLI::App*, bool, bool, std::string) const override { return ""; }

 private:
  const CLI::App* app_;
};

std::vector<CLI::ConfigItem> TomlConfig::from_config(std::istream& input) const {
  const std::string path = app_->get_config_ptr()->results().back();
  std::string command;
  for (const CLI::App* sub : app_->get_subcommands()) {
    const auto& commands = config_file_commands();
    if (std::find(commands.begin(), commands.end(), sub->get_name()) != commands.end()) {
      command = sub->get_name();
    }
  }
  if (command.empty()) throw ConfigFileError("--config is for serve, guardian and web");
  std::string text{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  if (input.bad()) throw ConfigFileError(fmt::format("cannot read {}", path));
  return read_config_file(*app_, path, text, command);
}

}  // namespace

void add_config_option(CLI::App& app) {
  app.set_config("--config", "",
                 "TOML file of options for serve, guardian and web: their [serve], [guardian] "
                 "and [web] tables (authsvc.toml.example); the command line overrides it")
      ->type_name("FILE");
  app.config_formatter(std::make_shared<TomlConfig>(&app));
  // --config is the app's (CLI11 reads one config file an app), so the
  // commands' own help says where their options may also come from.
  for (const std::string& command : config_file_commands()) {
    app.get_subcommand(command)->footer(
        fmt::format("--config FILE: these options (and --db) from FILE's [{}] table, in TOML; "
                    "the command line overrides it",
                    command));
  }
}

}  // namespace authsvc
