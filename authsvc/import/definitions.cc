#include "authsvc/import/definitions.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "authsvc/core/error.h"
#include "authsvc/core/text.h"
#include "authsvc/import/bounded_file.h"

namespace authsvc {
namespace {

using nlohmann::json;

// Thrown inside the parser only, with the path and the reason, and turned
// into parse_definitions' error: the shape checks below read straight on
// instead of testing a result at every field.
struct ShapeError {
  std::string message;
};

[[noreturn]] void shape_error(const std::string& path, std::string_view expected) {
  throw ShapeError{fmt::format("{}: expected {}", path, expected)};
}

std::string string_field(const json& object, const char* key, const std::string& path) {
  std::string at = path + "." + key;
  auto it = object.find(key);
  if (it == object.end()) throw ShapeError{at + ": missing"};
  if (!it->is_string()) shape_error(at, "a string");
  return it->get<std::string>();
}

std::optional<std::string> optional_string_field(const json& object, const char* key,
                                                 const std::string& path) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) shape_error(path + "." + key, "a string");
  return it->get<std::string>();
}

// Each element of the list `key` (absent: none), checked to be an object,
// with its path, e.g. "users[3]".
template <typename Each>
void for_each_object(const json& doc, const char* key, Each each) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return;
  if (!it->is_array()) shape_error(key, "a list");
  std::size_t index = 0;
  for (const json& element : *it) {
    std::string path = fmt::format("{}[{}]", key, index++);
    if (!element.is_object()) shape_error(path, "an object");
    each(element, path);
  }
}

// Like RabbitMQ's string:strip: spaces at both ends.
std::string_view strip_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::vector<std::string> tags_of(const json& user, const std::string& path) {
  std::vector<std::string> tags;
  auto add = [&tags](std::string_view tag) {
    tag = strip_spaces(tag);
    if (!tag.empty()) tags.emplace_back(tag);
  };
  auto it = user.find("tags");
  if (it == user.end() || it->is_null()) {
    // Exports before RabbitMQ 3.0 had a flag instead of tags.
    auto admin = user.find("administrator");
    if (admin == user.end()) throw ShapeError{path + ".tags: missing"};
    if (admin->is_boolean()) {
      if (admin->get<bool>()) tags.emplace_back("administrator");
    } else if (admin->is_string()) {
      if (admin->get<std::string>() == "true") tags.emplace_back("administrator");
    } else {
      shape_error(path + ".administrator", "true or false");
    }
    return tags;
  }
  if (it->is_string()) {
    std::string text = it->get<std::string>();
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      add(std::string_view(text).substr(start, comma - start));
      start = comma + 1;
    }
    return tags;
  }
  if (!it->is_array()) {
    shape_error(path + ".tags", "a list of strings or a comma-separated string");
  }
  std::size_t index = 0;
  for (const json& tag : *it) {
    if (!tag.is_string()) shape_error(fmt::format("{}.tags[{}]", path, index), "a string");
    add(tag.get_ref<const std::string&>());
    ++index;
  }
  return tags;
}

Definitions definitions_of(const json& doc) {
  if (!doc.is_object()) shape_error("the document", "an object (a definitions export)");
  Definitions d;
  if (auto it = doc.find("rabbit_version"); it != doc.end() && it->is_string()) {
    d.rabbit_version = it->get<std::string>();
  } else if (auto it2 = doc.find("rabbitmq_version"); it2 != doc.end() && it2->is_string()) {
    d.rabbit_version = it2->get<std::string>();
  }
  // Every export has a list of users; without one this is some other JSON.
  if (!doc.contains("users")) throw ShapeError{"users: missing (not a definitions export?)"};
  for_each_object(doc, "users", [&](const json& u, const std::string& path) {
    BrokerUser user;
    user.name = string_field(u, "name", path);
    user.password_hash = optional_string_field(u, "password_hash", path);
    user.hashing_algorithm = optional_string_field(u, "hashing_algorithm", path);
    user.has_clear_password = u.contains("password");
    user.tags = tags_of(u, path);
    d.users.push_back(std::move(user));
  });
  for_each_object(doc, "vhosts", [&](const json& v, const std::string& path) {
    d.vhosts.push_back(string_field(v, "name", path));
  });
  for_each_object(doc, "permissions", [&](const json& p, const std::string& path) {
    d.permissions.push_back(
        BrokerPermission{string_field(p, "user", path), string_field(p, "vhost", path),
                         string_field(p, "configure", path), string_field(p, "write", path),
                         string_field(p, "read", path)});
  });
  for_each_object(doc, "topic_permissions", [&](const json& p, const std::string& path) {
    d.topic_permissions.push_back(
        BrokerTopicPermission{string_field(p, "user", path), string_field(p, "vhost", path),
                              string_field(p, "exchange", path), string_field(p, "write", path),
                              string_field(p, "read", path)});
  });
  for_each_object(doc, "exchanges", [&](const json& e, const std::string& path) {
    d.exchanges.push_back(
        BrokerResource{string_field(e, "vhost", path), string_field(e, "name", path)});
  });
  for_each_object(doc, "queues", [&](const json& q, const std::string& path) {
    d.queues.push_back(
        BrokerResource{string_field(q, "vhost", path), string_field(q, "name", path)});
  });
  for_each_object(doc, "bindings", [&](const json& b, const std::string& path) {
    d.bindings.push_back(BrokerBinding{string_field(b, "vhost", path),
                                       string_field(b, "source", path),
                                       string_field(b, "routing_key", path)});
  });
  return d;
}

}  // namespace

std::optional<Definitions> parse_definitions(std::string_view text, std::string* error) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann's message names the line and column; its "last read" part
    // quotes the file, so it is made printable to stay one line.
    std::string what = e.what();
    if (std::size_t end = what.find("] ");
        what.rfind("[json.exception", 0) == 0 && end != std::string::npos) {
      what.erase(0, end + 2);
    }
    *error = "not JSON: " + printable(what);
    return std::nullopt;
  }
  try {
    return definitions_of(doc);
  } catch (const ShapeError& e) {
    *error = printable(e.message);
    return std::nullopt;
  }
}

Definitions read_definitions_file(const std::string& path, std::uintmax_t max_bytes) {
  std::string text = read_bounded_file(path, max_bytes, "a definitions file");
  std::string error;
  std::optional<Definitions> definitions = parse_definitions(text, &error);
  if (!definitions) throw Error(fmt::format("{}: {}", printable(path), error));
  return std::move(*definitions);
}

}  // namespace authsvc
