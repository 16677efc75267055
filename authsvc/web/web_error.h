#pragma once
// A request the web refuses, with the status and the one line it answers
// with (on an error page, or as {"error": ...}). The line is shown to the
// person who asked: it never holds a secret, nor anything about an account
// they may not see (another's account is "no such account", as one that
// does not exist).

#include "authsvc/core/error.h"

namespace authsvc {

class WebError : public Error {
 public:
  WebError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace authsvc
