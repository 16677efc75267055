#include "authsvc/audit_line.h"

#include <nlohmann/json.hpp>

#include "authsvc/timestamp.h"

namespace authsvc {
namespace {

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string to_json_line(const DecisionRecord& r) {
  nlohmann::ordered_json j;
  j["ts"] = rfc3339_utc(r.ts);
  j["endpoint"] = r.endpoint;
  j["user"] = r.user;
  j["vhost"] = r.vhost;
  j["resource"] = r.resource;
  j["name"] = r.name;
  j["permission"] = r.permission;
  j["routing_key"] = r.routing_key;
  j["ip"] = r.ip;
  j["peer"] = r.peer;
  j["decision"] = r.allow ? "allow" : "deny";
  j["status"] = r.status;
  j["rule"] = r.rule;
  j["reason"] = r.reason;
  j["us"] = r.us;
  return dump(j);
}

std::string to_json_line(const AuditEvent& e) {
  nlohmann::ordered_json j;
  j["ts"] = e.ts;
  j["actor"] = e.actor;
  j["operator"] = e.operator_name;
  j["action"] = e.action;
  j["user"] = e.user;
  j["detail"] = e.detail;
  j["decision"] = "ok";
  return dump(j);
}

}  // namespace authsvc
