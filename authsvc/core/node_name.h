#pragma once
// A node's name: which authsvc process wrote an audit line. Several nodes
// (one beside each RabbitMQ cluster node) share one database and each
// writes its own audit file; with the name in every line, lines from
// several files can be merged and still say where each came from.
//
// A name is 1 to 64 printable ASCII characters without a space, a quote or
// a backslash: it goes into every audit line as it is (nothing to escape)
// and into a shell command or a grep pattern without quoting.

#include <optional>
#include <string>
#include <string_view>

namespace authsvc {

inline constexpr std::size_t kMaxNodeNameLength = 64;

// "" when `name` is one; otherwise why not, one line, without quoting it.
std::string node_name_problem(std::string_view name);

// The name a node has when none is given: "HOST:PORT", with the port it
// listens on, or HOST alone for a process that listens on none.
std::string default_node_name(std::string_view host, std::optional<int> port);

}  // namespace authsvc
