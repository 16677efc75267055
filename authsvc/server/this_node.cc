#include "authsvc/server/this_node.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "authsvc/core/error.h"
#include "authsvc/core/node_name.h"
#include "authsvc/core/text.h"

namespace authsvc {

std::string this_node_name(const std::optional<std::string>& given, std::optional<int> port) {
  if (given) return *given;
  char host[HOST_NAME_MAX + 1] = "";
  if (::gethostname(host, sizeof host) != 0) {
    throw Error(std::string("cannot read the host name for the node name: ") +
                std::strerror(errno) + "; give --node-name");
  }
  host[HOST_NAME_MAX] = '\0';  // gethostname need not end a name it cut
  std::string name = default_node_name(host, port);
  if (std::string problem = node_name_problem(name); !problem.empty()) {
    throw Error("the default node name '" + printable(name) +
                "' (host name and port) will not do: " + problem + "; give --node-name");
  }
  return name;
}

}  // namespace authsvc
