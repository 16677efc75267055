#pragma once
// The two kinds of audit record, as plain values: a decision on a broker's
// request, and a change made to users or to the guardian's state (by the
// CLI, the guardian, later the web). audit_line.h writes them as JSON lines.
// Neither has a field for a password or token.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

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
  // Which credential a login matched ("current" or "previous"); "" if none.
  std::string_view credential;
  std::int64_t us = 0;
};

// A user-management or guardian action. The store keeps those made through
// it (audit_events) until a server has copied them into its audit log.
struct AuditEvent {
  std::int64_t id = 0;  // the store's sequence; 0 for an event never stored
  std::string ts;
  std::string actor;
  std::string operator_name;
  std::string action;
  std::string user;
  std::string detail;
};

// A request to the web (authsvc web): who, from where, what, and how it
// ended. Never its query string (a sign-in's code is there), a cookie, or a
// secret it showed.
struct WebRecord {
  std::chrono::system_clock::time_point ts;
  std::string_view operator_name;  // the verified address; "" when nobody is signed in
  std::string_view via;            // "session", "apikey 12", or ""
  std::string_view from;           // the client's address
  std::string_view method;
  std::string_view path;
  std::string_view action;  // "sign-in", "account create", "page", ...
  std::string_view user;    // the account acted on, if any
  std::string_view detail;
  bool ok = false;  // done as asked (or shown); false: refused or failed
  int status = 200;
  std::string_view reason;  // why not, when not ok
};

}  // namespace authsvc
