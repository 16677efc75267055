// The JSON API under /api/v1/ (web_app.h): the pages' actions, with the
// pages' rules (SelfService), for scripts. Authenticated with an API key
// (Authorization: Bearer), or with the session cookie plus the session's
// CSRF token in X-CSRF-Token on every change. Errors are {"error": "..."}.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/web/embedded_web_files.h"
#include "authsvc/web/web_error.h"
#include "authsvc/web/web_exchanges.h"
#include "authsvc/web/web_queues.h"
#include "authsvc/web/web_request.h"

namespace authsvc {
namespace {

using nlohmann::json;

json optional_time(const std::string& rfc3339) {
  return rfc3339.empty() ? json(nullptr) : json(rfc3339);
}

json account_json(const UserInfo& u, std::chrono::system_clock::time_point now) {
  bool in_grace = !u.previous_valid_until.empty() && !has_passed(u.previous_valid_until, now);
  return json{{"name", u.name},
              {"owners", u.owners},
              {"active", u.active},
              {"expires", optional_time(u.expires_at)},
              {"expired", !u.expires_at.empty() && has_passed(u.expires_at, now)},
              {"legacy", u.credential != CredentialScheme::token},
              {"grace_until", in_grace ? json(u.previous_valid_until) : json(nullptr)},
              {"credential_issued", optional_time(u.credential_issued_at)},
              {"vhosts", u.vhosts}};
}

HttpAnswer json_answer(int status, const json& body) {
  return HttpAnswer{status, body.dump() + "\n", "application/json"};
}

HttpAnswer no_content() { return HttpAnswer{204, "", "application/json"}; }

// The request's JSON object; an empty body is {}. Anything else is a 400.
json body_object(const Request& request) {
  if (request.call.body.empty()) return json::object();
  json body = json::parse(request.call.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    throw WebError(400, "the body must be a JSON object");
  }
  return body;
}

std::string string_member(const json& body, const char* name) {
  auto found = body.find(name);
  if (found == body.end() || found->is_null()) return "";
  if (!found->is_string()) throw WebError(400, fmt::format("'{}' must be a string", name));
  return found->get<std::string>();
}

const EmbeddedFile* openapi_document() {
  for (std::size_t i = 0; i < embedded_web_api_count; ++i) {
    if (embedded_web_api[i].name == "openapi.json") return &embedded_web_api[i];
  }
  return nullptr;
}

HttpAnswer method_not_allowed(const char* allowed) {
  throw WebError(405, fmt::format("use {}", allowed));
}

HttpAnswer accounts(Request& request, const std::vector<std::string>& s) {
  SelfService self = request.self_service();
  if (s.size() == 1) {
    if (request.is("GET")) {
      json list = json::array();
      for (const UserInfo& u : self.my_accounts()) list.push_back(account_json(u, request.now));
      return json_answer(200, json{{"accounts", list}});
    }
    if (!request.is("POST")) return method_not_allowed("GET or POST");
    request.action = "account create";
    json body = body_object(request);
    std::string name = string_member(body, "name");
    std::string expires = string_member(body, "expires");
    request.user = name;
    count_change(request);
    std::string token = self.create(name, expires);
    return json_answer(201, json{{"name", name}, {"token", token}});
  }
  const std::string& name = s[1];
  request.user = name;
  if (s.size() == 2) {
    if (request.is("GET"))
      return json_answer(200, account_json(self.my_account(name), request.now));
    if (!request.is("DELETE")) return method_not_allowed("GET or DELETE");
    request.action = "account delete";
    self.remove(name);
    return no_content();
  }
  if (s.size() == 3 && s[2] == "rotate") {
    if (!request.is("POST")) return method_not_allowed("POST");
    request.action = "account rotate";
    std::string grace = string_member(body_object(request), "grace");
    request.detail = "grace " + printable(grace.empty() ? "0" : grace);
    self.my_account(name);
    count_change(request);
    std::string token = self.rotate(name, grace);
    UserInfo after = self.my_account(name);
    return json_answer(200,
                       json{{"name", name},
                            {"token", token},
                            {"previous_valid_until", optional_time(after.previous_valid_until)}});
  }
  if (s.size() == 4 && s[2] == "owners") {
    const std::string& address = s[3];
    request.detail = printable(address);
    if (request.is("PUT")) {
      request.action = "owner add";
      self.add_owner(name, address);
      return no_content();
    }
    if (!request.is("DELETE")) return method_not_allowed("PUT or DELETE");
    request.action = "owner remove";
    self.remove_owner(name, address);
    return no_content();
  }
  throw WebError(404, "no such resource");
}

HttpAnswer queues(Request& request, const std::vector<std::string>& s) {
  SelfService self = request.self_service();
  if (s.size() == 1) {
    if (!request.is("GET")) return method_not_allowed("GET");
    QueueListing listing = queues_of(request, self.my_accounts());
    if (!listing.unavailable.empty()) throw WebError(503, listing.unavailable);
    json list = json::array();
    for (const QueueRow& q : listing.rows) {
      list.push_back(json{{"vhost", q.vhost},
                          {"name", q.name},
                          {"account", q.account},
                          {"messages", q.messages},
                          {"consumers", q.consumers},
                          {"warn_at", q.warn_at},
                          {"delete_at", q.delete_at},
                          {"guardian", q.guardian},
                          {"exempt", q.exempt},
                          {"bounded_at", q.bounded_at > 0 ? json(q.bounded_at) : json(nullptr)}});
    }
    return json_answer(200, json{{"queues", list}});
  }
  if (s.size() == 3) {
    if (!request.is("DELETE")) return method_not_allowed("DELETE");
    request.action = "queue delete";
    delete_queue_of(request, self.my_accounts(), s[1], s[2]);
    return no_content();
  }
  throw WebError(404, "no such resource");
}

// An exchange of the directory as JSON: the texts as the pages show them
// (escaped); `detail` adds the last message and each violation's example.
json message_json(const MessageExample& m) {
  MessageView view = message_view(m);
  return json{{"routing_key", view.routing_key},
              {"routing_key_fields", view.fields},
              {"content_type", m.content_type ? json(view.content_type) : json(nullptr)},
              {"delivery_mode", m.delivery_mode ? json(*m.delivery_mode) : json(nullptr)},
              {"size", m.size},
              {"payload", view.payload}};
}

json exchange_json(const ExchangeEntry& entry, bool detail) {
  ExchangeRow row = exchange_row(entry);
  json out{
      {"vhost", entry.exchange.vhost},
      {"name", entry.exchange.name},
      {"owner", entry.owner},
      {"type", entry.exchange.type},
      {"durable", entry.exchange.durable},
      {"publish_rate",
       entry.exchange.publish_rate ? json(*entry.exchange.publish_rate) : json(nullptr)},
      {"bindings", entry.bindings},
      {"compliance", row.compliance},
      {"compliant", row.compliant},
      {"problem", entry.problem},
  };
  if (!entry.sample) {
    out["sample"] = nullptr;
    return out;
  }
  const ExchangeSample& s = *entry.sample;
  json violations = json::array();
  for (const ExchangeViolationRecord& v : s.violations) {
    json item{{"kind", violation_name(v.kind)},
              {"must", violation_is_must(v.kind)},
              {"rule", violation_rule(v.kind)},
              {"count", v.count},
              {"last_at", v.last_at},
              {"mailed_at", v.mailed_at.empty() ? json(nullptr) : json(v.mailed_at)}};
    if (detail) item["example"] = message_json(v.example);
    violations.push_back(std::move(item));
  }
  std::vector<std::string> keys;
  for (const std::string& key : s.json_keys) keys.push_back(shown_text(key));
  out["sample"] = json{{"inspected", s.inspected},
                       {"first_seen_at", s.first_seen_at},
                       {"last_seen_at", s.last_seen_at},
                       {"routing_key_fields_min", s.routing_key_fields_min},
                       {"routing_key_fields_max", s.routing_key_fields_max},
                       {"json_keys", keys},
                       {"violations", violations}};
  if (detail) out["sample"]["last"] = message_json(s.last);
  return out;
}

// The exchange directory, to anyone signed in: GET /api/v1/exchanges, and
// GET /api/v1/exchanges/VHOST/NAME with the last message and each kind's
// example.
HttpAnswer exchanges(Request& request, const std::vector<std::string>& s) {
  if (s.size() != 1 && s.size() != 3) throw WebError(404, "no such resource");
  if (!request.is("GET")) return method_not_allowed("GET");
  ExchangeDirectoryListing listing = exchange_directory_of(request);
  if (!listing.unavailable.empty()) throw WebError(503, listing.unavailable);
  if (s.size() == 1) {
    json list = json::array();
    for (const ExchangeEntry& entry : listing.entries) list.push_back(exchange_json(entry, false));
    return json_answer(200, json{{"exchanges", list}});
  }
  for (const ExchangeEntry& entry : listing.entries) {
    if (entry.exchange.vhost == s[1] && entry.exchange.name == s[2])
      return json_answer(200, exchange_json(entry, true));
  }
  throw WebError(404, "no such Pulse exchange");
}

}  // namespace

std::optional<HttpAnswer> route_api(Request& request) {
  const std::vector<std::string>& s = request.segments;
  if (s.size() < 3 || s[0] != "api" || s[1] != "v1") throw WebError(404, "no such resource");
  std::vector<std::string> rest(s.begin() + 2, s.end());
  if (rest.size() == 1 && rest[0] == "openapi.json") {
    if (!request.is("GET") && !request.is("HEAD")) return method_not_allowed("GET");
    const EmbeddedFile* document = openapi_document();
    if (!document) throw WebError(500, "the API description is missing from this build");
    return HttpAnswer{200, std::string(document->content), "application/json"};
  }
  if (!request.person) {
    throw WebError(401, "sign in, or send an API key: Authorization: Bearer <key>");
  }
  const bool changes = !request.is("GET") && !request.is("HEAD");
  if (changes && request.via == "session") {
    require_csrf(request, request.call.header("X-CSRF-Token"));
  }
  if (rest[0] == "accounts") return accounts(request, rest);
  if (rest[0] == "queues") return queues(request, rest);
  if (rest[0] == "exchanges") return exchanges(request, rest);
  throw WebError(404, "no such resource");
}

}  // namespace authsvc
