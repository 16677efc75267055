#include "authsvc/server/rules_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace authsvc {

std::shared_ptr<const Rules> load_rules(const std::string& path, std::string* error) {
  if (path.empty()) return std::make_shared<const Rules>(Rules::pulse_default());
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    *error = "cannot read rules file '" + path + "': " + std::strerror(errno);
    return nullptr;
  }
  std::stringstream text;
  text << file.rdbuf();
  std::optional<Rules> rules = Rules::parse(text.str(), path, error);
  if (!rules) return nullptr;
  return std::make_shared<const Rules>(std::move(*rules));
}

}  // namespace authsvc
