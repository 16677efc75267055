#pragma once
// `authsvc audit --summary`: how many of the selected lines there are for
// each user, rule and decision (and node, when they come from several), as
// a table for an operator to read.

#include <cstdint>
#include <string>
#include <unordered_map>

#include "authsvc/core/audit_line_scan.h"

namespace authsvc {

class AuditSummary {
 public:
  void add(const AuditLineView& line);
  std::uint64_t lines() const { return lines_; }

  // Columns USER, RULE, DECISION (the line's own word: allow, deny, ok,
  // denied) and COUNT, aligned; a row for each combination seen, the most
  // lines first (then by user, rule, decision); last a "(total)" row. An
  // empty user and a line without a rule (management and web lines) show
  // "-", which no user or rule name can be; control characters are escaped
  // (printable()). When the lines come from more than one node, a NODE
  // column comes first and counts each node's apart (sorted by node after
  // the count); a line without a node (older than node names) shows "-".
  // Every line ends with '\n'.
  std::string table() const;

 private:
  // node, user and rule, each after its length, then the decision: a key
  // no two different rows share, built in one reused string.
  std::unordered_map<std::string, std::uint64_t> counts_;
  std::string key_;
  std::uint64_t lines_ = 0;
};

}  // namespace authsvc
