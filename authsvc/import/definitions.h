#pragma once
// A RabbitMQ definitions file, as `rabbitmqctl export_definitions` writes it
// (RabbitMQ 3.10's format), reduced to what a migration to authsvc needs:
// the users with their password hashes, the vhosts, the regex permissions,
// and the queues, exchanges and bindings that show which names are in use.
//
// Parsing is strict about shape (a field of the wrong type is an error that
// names its JSON path) and lenient about content: keys authsvc does not use
// are ignored, and what the values mean (a damaged hash, a name authsvc
// cannot accept) is for import_plan.h to judge.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

struct BrokerUser {
  std::string name;
  // Absent for a user without a password (x509 logins).
  std::optional<std::string> password_hash;
  // Absent in exports older than RabbitMQ 3.6.1.
  std::optional<std::string> hashing_algorithm;
  // A clear-text `password`: never in an export, possible in a file
  // written by hand. Only whether there was one is kept.
  bool has_clear_password = false;
  // A list, or a comma-separated string in older exports; each trimmed of
  // spaces as RabbitMQ does, empty ones dropped. An export without `tags`
  // but with `administrator: true` (before 3.0) gives ["administrator"].
  std::vector<std::string> tags;
};

// The three regexes of a user in a vhost.
struct BrokerPermission {
  std::string user;
  std::string vhost;
  std::string configure;
  std::string write;
  std::string read;
};

// Regexes on routing keys for one exchange.
struct BrokerTopicPermission {
  std::string user;
  std::string vhost;
  std::string exchange;
  std::string write;
  std::string read;
};

struct BrokerResource {
  std::string vhost;
  std::string name;
};

struct BrokerBinding {
  std::string vhost;
  std::string source;
  std::string routing_key;
};

struct Definitions {
  std::string rabbit_version;  // "" when the file does not say
  std::vector<BrokerUser> users;
  std::vector<std::string> vhosts;
  std::vector<BrokerPermission> permissions;
  std::vector<BrokerTopicPermission> topic_permissions;
  std::vector<BrokerResource> exchanges;
  std::vector<BrokerResource> queues;
  std::vector<BrokerBinding> bindings;
};

// A file above this is refused before it is read: a definitions file of a
// large Pulse (thousands of users and queues) is a few MB.
inline constexpr std::uintmax_t kMaxDefinitionsBytes = 64u << 20;

// The definitions in `text`, or nullopt with *error set to one line: "not
// JSON: ..." or "PATH: what is wrong" (e.g. "users[3].tags: expected a list
// of strings or a comma-separated string").
std::optional<Definitions> parse_definitions(std::string_view text, std::string* error);

// Reads and parses the file at `path`. Throws Error, naming the file, if it
// cannot be read, is larger than `max_bytes` (checked before reading it,
// and again while reading, for a pipe or a file that grows), or does not
// parse.
Definitions read_definitions_file(const std::string& path,
                                  std::uintmax_t max_bytes = kMaxDefinitionsBytes);

}  // namespace authsvc
