#include "authsvc/cli/command.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace authsvc {

std::string operator_name() {
  if (const char* sudo_user = std::getenv("SUDO_USER"); sudo_user && *sudo_user) return sudo_user;
  if (const passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return "uid " + std::to_string(getuid());
}

}  // namespace authsvc
