#pragma once
// Reading an audit line back (audit_line.h writes them): whether a line is
// one, and the fields a query looks at, found in one pass over its bytes
// that allocates nothing.
//
// A line is an audit line when it is one JSON object (RFC 8259, checked in
// full: strings valid UTF-8 with valid escapes, numbers, literals, nested
// values up to 64 deep; whitespace around it allowed) whose fields include,
// each once,
//   "ts"        a string, RFC 3339 in UTC (rfc3339_to_unix_us),
//   "user"      a string,
//   "decision"  a string, and either
//   "endpoint"  a string: a decision line, whose decision is allow or deny,
//   "actor"     a string: a user-management line (decision ok), or, actor
//               "web", a web line (decision ok or denied; the changes the
//               web made through the store, copied in by serve, read as
//               web lines too).
// "rule" and "node", if there, are strings too; a line from before nodes
// had names has no "node" and reads all the same. Other fields are checked
// as JSON and otherwise ignored, so that lines with more fields (a later
// version's) still read.
//
// Why not nlohmann::json: it builds a tree of allocated nodes for every
// line, and `authsvc audit` reads gigabytes when there is an incident. See
// README "Performance" for the figures; the tests hold this reader to
// nlohmann's verdict on arbitrary lines.
//
//   std::string error;
//   std::optional<AuditLineView> line = scan_audit_line(text, &error);
//   if (!line) ...                       // error: why not, one line
//   else if (line->user.equals("alice")) ...

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authsvc {

// A JSON string as it stands between its quotes in the line.
struct JsonStringView {
  std::string_view raw;
  bool escaped = false;  // raw holds a backslash escape

  // The string's value (escapes decoded).
  std::string value() const;
  // Whether the value is `text`; allocates only when escaped.
  bool equals(std::string_view text) const { return escaped ? value() == text : raw == text; }
};

enum class AuditLineKind { decision, management, web };

// What a line says happened: a decision line's allow or deny, a
// management line's ok, a web line's ok or denied.
enum class AuditDecision { allow, deny, ok, denied };
std::string_view to_string(AuditDecision decision);

// Views into the line, valid while it is.
struct AuditLineView {
  AuditLineKind kind = AuditLineKind::decision;
  std::int64_t ts_us = 0;  // microseconds since the epoch
  AuditDecision decision = AuditDecision::deny;
  JsonStringView user;
  JsonStringView endpoint;  // decision lines; empty otherwise
  JsonStringView rule;      // empty when the line has none (management and web lines)
  bool has_rule = false;
  JsonStringView node;  // who wrote it; empty when the line has none (older lines)
  bool has_node = false;
  // The store's number of the event a line copies ("event", a positive
  // integer, once): the same event in two logs, or twice in one, has the
  // same. 0: none (a decision line, an older line).
  std::int64_t event = 0;
};

// The line (without its newline) read as an audit line, or nullopt with
// *error saying why not in one line: where the JSON goes wrong (a byte
// offset, 1 for the first), or which field is missing or wrong. The error
// never quotes the line's content.
std::optional<AuditLineView> scan_audit_line(std::string_view line, std::string* error);

}  // namespace authsvc
