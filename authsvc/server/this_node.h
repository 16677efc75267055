#pragma once
// This process's node name, for its audit lines (core/node_name.h): the one
// --node-name gives, or else the host name and the port the process
// listens on.

#include <optional>
#include <string>

namespace authsvc {

// `given` when there is one (already checked); else gethostname()'s name
// and `port` ("pulse-1.example.org:8000"), or the host name alone without a
// port. Throws authsvc::Error, saying to give --node-name, when that
// default is no node name (a host name of over 58 characters, say).
std::string this_node_name(const std::optional<std::string>& given, std::optional<int> port);

}  // namespace authsvc
