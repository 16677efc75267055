#include "authsvc/core/auth_service.h"

#include <chrono>

#include "authsvc/core/audit_line.h"
#include "authsvc/core/auth_request.h"
#include "authsvc/core/decision.h"
#include "authsvc/core/form.h"

namespace authsvc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kFormType = "application/x-www-form-urlencoded";

constexpr std::string_view kInternalUserReason =
    "an account of the broker's internal database: left to the next backend";
constexpr std::string_view kInternalUserShadowingReason =
    "an account of the broker's internal database: left to the next backend; authsvc's "
    "account of this name is not used";

// A Content-Type is the form type if its media type is, whatever its
// parameters ("; charset=utf-8").
bool is_form_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.size() != kFormType.size()) return false;
  for (std::size_t i = 0; i < media.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kFormType[i]) return false;
  }
  return true;
}

// The fields of a request for the audit line, as far as they could be
// read: a refused request still says who and what it was about.
void fill_from_form(const Form& form, DecisionRecord* record) {
  auto view = [&](std::string_view key, std::string_view* out) {
    if (const std::string_view* v = form.find(key)) *out = *v;
  };
  view("username", &record->user);
  view("vhost", &record->vhost);
  view("resource", &record->resource);
  view("name", &record->name);
  view("permission", &record->permission);
  view("routing_key", &record->routing_key);
  view("ip", &record->ip);
}

void fill_from_request(const AuthRequest& request, DecisionRecord* record) {
  record->user = request.username;
  record->vhost = request.vhost;
  record->ip = request.client_ip;
  if (request.endpoint == Endpoint::resource || request.endpoint == Endpoint::topic) {
    record->resource = to_string(request.resource);
    record->name = request.name;
    record->permission = to_string(request.permission);
    record->routing_key = request.routing_key;
  }
}

}  // namespace

HttpAnswer AuthService::handle(const HttpCall& call) const {
  Clock::time_point started = Clock::now();
  DecisionRecord record;
  record.ts = std::chrono::system_clock::now();
  record.peer = call.peer;
  auto finish = [&](int status, bool allow, std::string_view rule, std::string_view reason,
                    std::string body) {
    record.status = status;
    record.allow = allow;
    record.rule = rule;
    record.reason = reason;
    record.us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
    thread_local std::string line;
    write_json_line(record, &line);
    audit_.append(line);
    if (metrics_) {
      // After the audit line, which may wait for the writer: that wait is
      // the broker's too.
      auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started);
      metrics_->record(record.endpoint, allow, rule, static_cast<std::uint64_t>(took.count()));
    }
    return HttpAnswer{status, std::move(body)};
  };

  std::optional<Endpoint> endpoint = endpoint_from_path(call.path);
  if (!endpoint) {
    record.endpoint = call.path;
    return finish(404, false, "bad-request", "unknown endpoint", "deny");
  }
  record.endpoint = to_string(*endpoint);

  std::string_view form_text;
  std::string error;
  if (call.method == "GET" || call.method == "HEAD") {
    form_text = call.query;
  } else if (call.method == "POST") {
    if (!call.content_type.empty() && !is_form_type(call.content_type)) {
      return finish(415, false, "bad-request",
                    "POST body must be application/x-www-form-urlencoded", "deny");
    }
    form_text = call.body;
  } else {
    error = "method " + std::string(call.method) + " not allowed";
    return finish(405, false, "bad-request", error, "deny");
  }

  std::optional<Form> form = Form::decode(form_text, &error);
  if (!form) return finish(400, false, "bad-request", error, "deny");
  fill_from_form(*form, &record);
  std::optional<AuthRequest> request = parse_auth_request(*endpoint, *form, &error);
  if (!request) return finish(400, false, "bad-request", error, "deny");
  fill_from_request(*request, &record);

  const Snapshot* snapshot = snapshots_.current_for_this_thread();
  if (internal_users_.contains(request->username)) {
    // Fail closed whatever the snapshot holds: a same-named authsvc account
    // is said so in the reason, not let in.
    bool shadowed = snapshot && snapshot->find_user(request->username);
    return finish(200, false, "internal-user",
                  shadowed ? kInternalUserShadowingReason : kInternalUserReason, "deny");
  }
  if (!snapshot) return finish(503, false, "no-snapshot", "no user data loaded yet", "deny");
  bool login = request->endpoint == Endpoint::user;
  if (login && throttle_ && throttle_->throttled(request->username)) {
    return finish(200, false, "throttled", "too many failed logins for this user; cooling off",
                  "deny");
  }
  Decision decision = decide(*request, *snapshot, record.ts);
  record.credential = decision.credential;
  if (login && throttle_) {
    // Count guesses (a wrong token, an unknown name), not a disabled user
    // trying a correct token.
    bool guess = decision.rule == "login" || decision.rule == "unknown-user";
    if (decision.allow || guess) throttle_->record(request->username, decision.allow);
  }
  std::string body = decision.allow ? "allow" : "deny";
  if (decision.allow && !decision.tags.empty()) {
    body += ' ';
    body += decision.tags;
  }
  return finish(200, decision.allow, decision.rule, decision.reason, std::move(body));
}

HttpAnswer AuthService::refuse(const HttpCall& call, int status, std::string_view reason,
                               std::string_view rule) const {
  DecisionRecord record;
  record.ts = std::chrono::system_clock::now();
  record.endpoint = call.path;
  record.peer = call.peer;
  record.status = status;
  record.rule = rule;
  record.reason = reason;
  audit_.append(to_json_line(record));
  if (metrics_) {
    std::optional<Endpoint> endpoint = endpoint_from_path(call.path);
    metrics_->refused(endpoint ? to_string(*endpoint) : "other", rule);
  }
  return HttpAnswer{status, "deny"};
}

}  // namespace authsvc
