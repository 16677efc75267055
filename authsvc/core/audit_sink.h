#pragma once
// Where audit lines go: the one seam between the request path and the disk.
// AuthService and the guardian write through it; server/audit_log.h is the
// file (or stdout) behind it in production, and tests and benchmarks give
// their own, so that the pure core never writes a file itself.

#include <string_view>

namespace authsvc {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Takes a copy of one JSON line (without a newline). May block, never
  // drops: an implementation that cannot keep up holds the caller back
  // rather than let a decision go unaudited (fail closed).
  virtual void append(std::string_view line) = 0;
};

}  // namespace authsvc
