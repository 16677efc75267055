#include "authsvc/import/import_report.h"

#include <fmt/format.h>

#include <map>
#include <tuple>

#include "authsvc/core/text.h"
#include "authsvc/core/words.h"

namespace authsvc {
namespace {

std::string verdict(bool broker_allows) {
  return broker_allows ? "broker allows, authsvc denies" : "broker denies, authsvc allows";
}

std::string what(const PermissionDifference& d, const std::string& name) {
  std::string out =
      fmt::format("{} {} '{}'", to_string(d.resource), to_string(d.permission), printable(name));
  if (d.resource == ResourceKind::topic) {
    out += fmt::format(" key '{}'", printable(d.routing_key));
  }
  return out;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

std::string format_difference(const PermissionDifference& d) {
  return fmt::format("{} in vhost '{}': {}: {}", d.user, printable(d.vhost), what(d, d.name),
                     verdict(d.broker_allows));
}

std::string format_import_report(const std::string& file, const Definitions& definitions,
                                 const ImportPlan& plan, const PermissionComparison& comparison,
                                 const std::string& rules_source) {
  std::string out;
  auto line = [&out](const std::string& text) { out += text + "\n"; };

  line(fmt::format("Definitions: {} ({}), {}.", printable(file),
                   definitions.rabbit_version.empty()
                       ? std::string("RabbitMQ version not given")
                       : "RabbitMQ " + printable(definitions.rabbit_version),
                   plural(definitions.users.size(), "user", "users")));
  line(fmt::format("To import: {}; skipped: {}.", plural(plan.users.size(), "user", "users"),
                   plural(plan.skipped.size(), "user", "users")));

  line("");
  line(
      fmt::format("To import ({}): each keeps its RabbitMQ password, as a legacy credential "
                  "until `authsvc user rotate`, and has no owner until `authsvc import owners`:",
                  plan.users.size()));
  for (const ImportedUser& u : plan.users) {
    std::vector<std::string> vhosts;
    for (const std::string& v : u.vhosts) vhosts.push_back("'" + printable(v) + "'");
    line(fmt::format("  import {}: vhosts {}; tags {}; {}", u.name, join_words(vhosts, ", "),
                     u.tags.empty() ? "(none)" : join_words(u.tags),
                     to_string(u.credential.scheme)));
  }
  if (plan.users.empty()) line("  (none)");

  line("");
  line(fmt::format("Skipped ({}): not imported, left as they are in the broker:",
                   plan.skipped.size()));
  for (const SkippedUser& s : plan.skipped) {
    line(fmt::format("  skip {}: {}", printable(s.name), s.reason));
  }
  if (plan.skipped.empty()) line("  (none)");

  if (!plan.notes.empty()) {
    line("");
    line(fmt::format("Notes on imported users ({}):", plan.notes.size()));
    for (const ImportNote& n : plan.notes) line(fmt::format("  note {}: {}", n.name, n.text));
  }

  line("");
  line(fmt::format(
      "Permissions: the broker's regexes against authsvc's rules ({}), for the imported users "
      "in {}; {} compared, {}.",
      printable(rules_source), plural(comparison.user_vhosts, "vhost grant", "vhost grants"),
      plural(comparison.checks, "answer", "answers"),
      plural(comparison.differences.size(), "difference", "differences")));
  for (const std::string& problem : comparison.problems) line("  cannot compare: " + problem);

  // (user, vhost) -> its differences; then groups of those alike.
  using Shape = std::vector<std::tuple<ResourceKind, Permission, std::string, std::string, bool>>;
  std::map<std::pair<std::string, std::string>, Shape> shapes;
  for (const PermissionDifference& d : comparison.differences) {
    shapes[{d.user, d.vhost}].emplace_back(d.resource, d.permission, d.pattern, d.routing_key,
                                           d.broker_allows);
  }
  std::map<Shape, std::vector<std::string>> groups;  // shape -> "user in 'vhost'"
  for (const auto& [key, shape] : shapes) {
    groups[shape].push_back(fmt::format("{} in '{}'", key.first, printable(key.second)));
  }
  std::size_t same = comparison.user_vhosts - shapes.size();
  if (same > 0) {
    line(fmt::format("  {}: the broker and authsvc answer alike on every sample.",
                     plural(same, "user in a vhost", "users in a vhost")));
  }
  for (const auto& [shape, members] : groups) {
    line(fmt::format("  {} each, {}: {}", plural(shape.size(), "difference", "differences"),
                     plural(members.size(), "user in a vhost", "users in a vhost"),
                     join_words(members, ", ")));
    for (const auto& [resource, permission, pattern, key, broker_allows] : shape) {
      PermissionDifference d;
      d.resource = resource;
      d.permission = permission;
      d.routing_key = key;
      line(fmt::format("    {}: {}", what(d, pattern), verdict(broker_allows)));
    }
  }
  if (!comparison.differences.empty()) {
    line("");
    line("Every difference, one a line (<user> above is the user's own name):");
    for (const PermissionDifference& d : comparison.differences) {
      line("  differs: " + format_difference(d));
    }
  }
  return out;
}

}  // namespace authsvc
