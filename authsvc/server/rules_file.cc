#include "authsvc/server/rules_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace authsvc {

std::shared_ptr<const Rules> load_rules(const std::string& path) {
  if (path.empty()) return std::make_shared<const Rules>(Rules::pulse_default());
  std::ifstream file(path, std::ios::binary);
  if (!file) throw RulesError("cannot read rules file '" + path + "': " + std::strerror(errno));
  std::stringstream text;
  text << file.rdbuf();
  std::string error;
  std::optional<Rules> rules = Rules::parse(text.str(), path, &error);
  if (!rules) throw RulesError(error);
  return std::make_shared<const Rules>(std::move(*rules));
}

}  // namespace authsvc
