#pragma once
// Loading the policy for serve and check: a rules file, or the compiled-in
// rules/pulse.rules when no path is given.

#include <memory>
#include <string>

#include "authsvc/core/rules.h"

namespace authsvc {

// The rules, or null with *error set to "FILE:LINE: reason" (or why the
// file cannot be read).
std::shared_ptr<const Rules> load_rules(const std::string& path, std::string* error);

}  // namespace authsvc
