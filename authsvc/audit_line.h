#pragma once
// The audit log's format: one JSON object a line (JSON Lines).
//
// A decision line has: ts, endpoint, user, vhost, resource, name,
// permission, routing_key, ip (the AMQP client, when the broker says),
// peer (who sent the HTTP request), decision (allow|deny), status (HTTP),
// rule, reason, us (microseconds from request to answer).
// A user-management line has: ts, actor, operator, action, user, detail,
// decision ("ok").
// Bytes that are not valid UTF-8 are written as U+FFFD. No line ever holds
// a password or token: neither record has a field for one.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "authsvc/store.h"

namespace authsvc {

// Views: the record is formatted while what it points at is alive.
struct DecisionRecord {
  std::chrono::system_clock::time_point ts;
  std::string_view endpoint;
  std::string_view user;
  std::string_view vhost;
  std::string_view resource;
  std::string_view name;
  std::string_view permission;
  std::string_view routing_key;
  std::string_view ip;
  std::string_view peer;
  bool allow = false;
  int status = 200;
  std::string_view rule;
  std::string_view reason;
  std::int64_t us = 0;
};

std::string to_json_line(const DecisionRecord& record);
// The same into *out (cleared first), so a thread can reuse one buffer.
void write_json_line(const DecisionRecord& record, std::string* out);
std::string to_json_line(const AuditEvent& event);

}  // namespace authsvc
