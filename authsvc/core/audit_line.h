#pragma once
// The audit log's format: one JSON object a line (JSON Lines).
//
// Every line starts with node, the name of the process that wrote it,
// which the audit log file adds (server/audit_log.h), not the records.
// A decision line has: ts, endpoint, user, vhost, resource, name,
// permission, routing_key, ip (the AMQP client, when the broker says),
// peer (who sent the HTTP request), decision (allow|deny), status (HTTP),
// rule, reason, credential (which one a login matched: current, previous,
// or ""), us (microseconds from request to answer).
// A user-management line has: ts, event (the store's id of the event; none
// for the guardian's own, never stored), actor, operator, action, user,
// detail, decision ("ok").
// A web line has: ts, actor ("web"), operator, via, from, method, path,
// action, user, detail, decision ("ok" or "denied"), status, reason.
// Bytes that are not valid UTF-8 are written as U+FFFD. No line ever holds
// a password or token: no record has a field for one. audit_line_scan.h
// reads the lines back (`authsvc audit`).

#include <string>

#include "authsvc/core/audit_records.h"

namespace authsvc {

std::string to_json_line(const DecisionRecord& record);
// The same into *out (cleared first), so a thread can reuse one buffer.
void write_json_line(const DecisionRecord& record, std::string* out);
std::string to_json_line(const AuditEvent& event);
std::string to_json_line(const WebRecord& record);

}  // namespace authsvc
