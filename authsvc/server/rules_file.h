#pragma once
// Loading the policy for serve and check: a rules file, or the compiled-in
// rules/pulse.rules when no path is given.

#include <memory>
#include <string>

#include "authsvc/core/error.h"
#include "authsvc/core/rules.h"

namespace authsvc {

// A rules file that cannot be read or has an error; what() is
// "FILE:LINE: reason", or why the file cannot be read.
class RulesError : public Error {
 public:
  using Error::Error;
};

// The rules (never null); throws RulesError.
std::shared_ptr<const Rules> load_rules(const std::string& path);

}  // namespace authsvc
