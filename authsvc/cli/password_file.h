#pragma once
// Secrets the guardian needs (the management API and SMTP passwords) come
// from files, never from the command line, where `ps` and shell history
// would show them.

#include <string>

#include "authsvc/core/error.h"

namespace authsvc {

class PasswordFileError : public Error {
 public:
  using Error::Error;
};

// The first line of the file at `path`, without its line ending ("\n" or
// "\r\n"). Throws PasswordFileError if the file cannot be read, if that
// line is empty, or if the file is readable by others than its owner and
// group (a secret anyone on the machine can read is no secret). Messages
// name the path, never the content.
std::string read_password_file(const std::string& path);

}  // namespace authsvc
