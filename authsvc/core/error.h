#pragma once
// How authsvc reports failure. There are two conventions, one for each kind
// of failure, and nothing else:
//
// 1. Opening, loading and talking to the outside (the store, a rules file,
//    TLS files, password files, the audit log file, the broker's management
//    API, the mail server) throws an exception derived from authsvc::Error.
//    Its what() is one line for an operator: it names the thing (a path, an
//    option, a URL) and what is wrong, and never holds a secret. Callers
//    that cannot go on print it and stop; long-running loops report it
//    (rate-limited) and retry. Warnings that do not stop anything are
//    returned beside the result, never thrown.
//
// 2. Parsing text that arrives as data (a request's form, a request, a rules
//    text, a pattern) returns std::optional and sets *error to a one-line
//    reason. Malformed input is an everyday answer there (a 400, a line
//    number), on the hot path it must cost no unwinding, and the fuzzers
//    call these functions millions of times.
//
// A loader that parses (the rules file) does both: it throws an Error whose
// message is the parser's reason.

#include <stdexcept>

namespace authsvc {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace authsvc
