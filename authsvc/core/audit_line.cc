#include "authsvc/core/audit_line.h"

#include "authsvc/core/json_line.h"
#include "authsvc/core/timestamp.h"

namespace authsvc {

void write_json_line(const DecisionRecord& r, std::string* out) {
  Rfc3339Buffer ts;
  format_rfc3339_utc(r.ts, &ts);
  JsonLine line(out);
  line.add("ts", ts.view())
      .add("endpoint", r.endpoint)
      .add("user", r.user)
      .add("vhost", r.vhost)
      .add("resource", r.resource)
      .add("name", r.name)
      .add("permission", r.permission)
      .add("routing_key", r.routing_key)
      .add("ip", r.ip)
      .add("peer", r.peer)
      .add("decision", r.allow ? "allow" : "deny")
      .add("status", r.status)
      .add("rule", r.rule)
      .add("reason", r.reason)
      .add("credential", r.credential)
      .add("us", r.us)
      .finish();
}

std::string to_json_line(const DecisionRecord& r) {
  std::string out;
  write_json_line(r, &out);
  return out;
}

std::string to_json_line(const AuditEvent& e) {
  std::string out;
  JsonLine line(&out);
  line.add("ts", e.ts);
  // The store's number for the event: every node copies the same events
  // into its own file, and the number tells one event from another there
  // (and the same one in two files). An event never stored has none.
  if (e.id != 0) line.add("event", e.id);
  line.add("actor", e.actor)
      .add("operator", e.operator_name)
      .add("action", e.action)
      .add("user", e.user)
      .add("detail", e.detail)
      .add("decision", "ok")
      .finish();
  return out;
}

std::string to_json_line(const WebRecord& r) {
  Rfc3339Buffer ts;
  format_rfc3339_utc(r.ts, &ts);
  std::string out;
  JsonLine line(&out);
  line.add("ts", ts.view())
      .add("actor", "web")
      .add("operator", r.operator_name)
      .add("via", r.via)
      .add("from", r.from)
      .add("method", r.method)
      .add("path", r.path)
      .add("action", r.action)
      .add("user", r.user)
      .add("detail", r.detail)
      .add("decision", r.ok ? "ok" : "denied")
      .add("status", r.status)
      .add("reason", r.reason)
      .finish();
  return out;
}

}  // namespace authsvc
