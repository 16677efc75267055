#include "authsvc/core/node_name.h"

namespace authsvc {

std::string node_name_problem(std::string_view name) {
  if (name.empty()) return "a node name has 1 to 64 characters, not none";
  if (name.size() > kMaxNodeNameLength) {
    return "a node name has 1 to 64 characters, not " + std::to_string(name.size());
  }
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == '"' || c == '\'' || c == '\\') {
      return "a node name is printable ASCII without a space, quote or backslash";
    }
  }
  return "";
}

std::string default_node_name(std::string_view host, std::optional<int> port) {
  std::string name(host);
  if (port) name += ":" + std::to_string(*port);
  return name;
}

}  // namespace authsvc
