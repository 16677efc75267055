#include "authsvc/audit_line.h"

#include "authsvc/json_line.h"
#include "authsvc/timestamp.h"

namespace authsvc {

std::string to_json_line(const DecisionRecord& r) {
  Rfc3339Buffer ts;
  format_rfc3339_utc(r.ts, &ts);
  JsonLine line;
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
      .add("us", r.us);
  return line.finish();
}

std::string to_json_line(const AuditEvent& e) {
  JsonLine line;
  line.add("ts", e.ts)
      .add("actor", e.actor)
      .add("operator", e.operator_name)
      .add("action", e.action)
      .add("user", e.user)
      .add("detail", e.detail)
      .add("decision", "ok");
  return line.finish();
}

}  // namespace authsvc
