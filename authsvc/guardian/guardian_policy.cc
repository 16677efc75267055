#include "authsvc/guardian/guardian_policy.h"

#include <map>
#include <set>

#include "authsvc/core/names.h"
#include "authsvc/core/timestamp.h"

namespace authsvc {

const char* to_string(GuardianAction::Kind kind) {
  switch (kind) {
    case GuardianAction::Kind::warn_queue:
      return "queue warn";
    case GuardianAction::Kind::queue_back_to_normal:
      return "queue back to normal";
    case GuardianAction::Kind::delete_queue:
      return "queue delete";
    case GuardianAction::Kind::finish_queue_deletion:
      return "queue deleted";
    case GuardianAction::Kind::forget_queue_notice:
      return "queue notice forget";
    case GuardianAction::Kind::report_exchange:
      return "exchange report";
    case GuardianAction::Kind::delete_exchange:
      return "exchange delete";
    case GuardianAction::Kind::forget_exchange_notice:
      return "exchange notice forget";
    case GuardianAction::Kind::close_connection:
      return "connection close";
  }
  return "?";
}

std::optional<std::string> owner_of(std::string_view prefix, std::string_view name) {
  if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix ||
      name[prefix.size()] != '/') {
    return std::nullopt;
  }
  std::string_view rest = name.substr(prefix.size() + 1);
  std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size()) return std::nullopt;
  std::string_view owner = rest.substr(0, slash);
  if (!is_valid_user_name(owner)) return std::nullopt;
  return std::string(owner);
}

QueueLimits limits_for(const UserInfo* user, QueueLimits defaults) {
  if (user && user->queue_warn) defaults.warn = *user->queue_warn;
  if (user && user->queue_delete) defaults.remove = *user->queue_delete;
  return defaults;
}

std::string_view to_string(QueueState state) {
  switch (state) {
    case QueueState::not_a_users_queue:
      return "not a user's queue";
    case QueueState::exempt:
      return "exempt (unbounded)";
    case QueueState::size_unknown:
      return "size unknown yet";
    case QueueState::ok:
      return "ok";
    case QueueState::back_under_warning:
      return "back under the warning threshold, owner to be told";
    case QueueState::over_warning:
      return "over the warning threshold";
    case QueueState::warned:
      return "warned";
    case QueueState::over_deletion:
      return "over the deletion threshold";
  }
  return "?";
}

QueueState classify_queue(const QueueInfo& q, QueueLimits limits, bool exempt,
                          std::optional<QueueNoticeState> notice) {
  if (!owner_of("queue", q.name)) return QueueState::not_a_users_queue;
  if (exempt) return QueueState::exempt;
  if (!q.messages) return QueueState::size_unknown;  // unknown is not empty
  if (*q.messages >= limits.remove) return QueueState::over_deletion;
  if (*q.messages >= limits.warn) return notice ? QueueState::warned : QueueState::over_warning;
  // Also after an interrupted deletion whose queue drained meanwhile: the
  // owner was warned, and now it is fine.
  return notice ? QueueState::back_under_warning : QueueState::ok;
}

std::vector<QueueStatus> queue_statuses(const GuardianInput& in) {
  std::map<std::string, const UserInfo*> users;
  for (const UserInfo& u : in.users) users[u.name] = &u;
  std::set<ResourceKey> exempt(in.exempt_queues.begin(), in.exempt_queues.end());
  std::map<ResourceKey, QueueNoticeState> notices;
  for (const QueueNotice& n : in.queue_notices) notices[n.queue] = n.state;

  std::vector<QueueStatus> out;
  out.reserve(in.queues.size());
  for (const QueueInfo& q : in.queues) {
    QueueStatus s;
    s.queue = q;
    s.owner = owner_of("queue", q.name);
    const UserInfo* user = nullptr;
    if (s.owner) {
      auto found = users.find(*s.owner);
      if (found != users.end()) user = found->second;
    }
    s.owner_known = user != nullptr;
    s.email = user && !user->owners.empty() ? user->owners.front() : "";
    s.limits = limits_for(user, in.limits);
    ResourceKey key{q.vhost, q.name};
    if (auto notice = notices.find(key); notice != notices.end()) s.notice = notice->second;
    s.state = classify_queue(q, s.limits, exempt.count(key) > 0, s.notice);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

void plan_queues(const GuardianInput& in, const std::map<std::string, const UserInfo*>& users,
                 std::vector<GuardianAction>* out) {
  std::set<ResourceKey> present;
  for (const QueueStatus& s : queue_statuses(in)) {
    present.insert(ResourceKey{s.queue.vhost, s.queue.name});
    GuardianAction a;
    a.vhost = s.queue.vhost;
    a.name = s.queue.name;
    a.owner = s.owner.value_or("");
    a.email = s.email;
    a.messages = s.queue.messages.value_or(0);
    a.delete_threshold = s.limits.remove;
    a.notice_state = s.notice;
    switch (s.state) {
      case QueueState::not_a_users_queue:
      case QueueState::size_unknown:
      case QueueState::ok:
      case QueueState::warned:
        continue;
      case QueueState::exempt:
        if (!s.notice) continue;
        a.kind = GuardianAction::Kind::forget_queue_notice;
        a.reason = "exempt";
        break;
      case QueueState::over_deletion:
        a.kind = GuardianAction::Kind::delete_queue;
        a.threshold = s.limits.remove;
        break;
      case QueueState::over_warning:
        a.kind = GuardianAction::Kind::warn_queue;
        a.threshold = s.limits.warn;
        break;
      case QueueState::back_under_warning:
        a.kind = GuardianAction::Kind::queue_back_to_normal;
        a.threshold = s.limits.warn;
        break;
    }
    out->push_back(a);
  }

  for (const QueueNotice& n : in.queue_notices) {
    if (present.count(n.queue)) continue;
    GuardianAction a;
    a.vhost = n.queue.vhost;
    a.name = n.queue.name;
    a.owner = n.owner;
    auto user = users.find(n.owner);
    a.email =
        user == users.end() || user->second->owners.empty() ? "" : user->second->owners.front();
    a.messages = n.messages;
    if (n.state == QueueNoticeState::deleting) {
      a.kind = GuardianAction::Kind::finish_queue_deletion;
    } else {
      a.kind = GuardianAction::Kind::forget_queue_notice;
      a.reason = "the queue is gone";
    }
    out->push_back(a);
  }
}

void plan_exchanges(const GuardianInput& in, const std::map<std::string, const UserInfo*>& users,
                    std::vector<GuardianAction>* out) {
  std::map<ResourceKey, const ExchangeNotice*> notices;
  for (const ExchangeNotice& n : in.exchange_notices) notices[n.exchange] = &n;
  std::set<ResourceKey> still_wrong;
  for (const ExchangeInfo& e : in.exchanges) {
    std::optional<std::string> owner = owner_of("exchange", e.name);
    if (!owner) continue;
    std::string problem;
    if (e.type != "topic") problem = "its type is " + e.type + ", not topic";
    if (!e.durable) problem += std::string(problem.empty() ? "" : " and ") + "it is not durable";
    if (problem.empty()) continue;
    ResourceKey key{e.vhost, e.name};
    still_wrong.insert(key);
    GuardianAction a;
    a.vhost = e.vhost;
    a.name = e.name;
    a.owner = *owner;
    auto user = users.find(*owner);
    a.email =
        user == users.end() || user->second->owners.empty() ? "" : user->second->owners.front();
    a.reason = problem;
    if (in.delete_noncompliant_exchanges) {
      a.kind = GuardianAction::Kind::delete_exchange;
      out->push_back(a);
    } else if (!notices.count(key)) {
      a.kind = GuardianAction::Kind::report_exchange;
      out->push_back(a);
    }
  }
  for (const ExchangeNotice& n : in.exchange_notices) {
    // Still wrong: reported already, or being deleted (its notice goes then).
    if (still_wrong.count(n.exchange)) continue;
    GuardianAction a;
    a.kind = GuardianAction::Kind::forget_exchange_notice;
    a.vhost = n.exchange.vhost;
    a.name = n.exchange.name;
    a.owner = n.owner;
    out->push_back(a);
  }
}

void plan_connections(const GuardianInput& in, const std::map<std::string, const UserInfo*>& users,
                      std::vector<GuardianAction>* out) {
  std::set<std::string> deleted(in.deleted_users.begin(), in.deleted_users.end());
  for (const ConnectionInfo& c : in.connections) {
    if (c.user.empty()) continue;
    std::string reason;
    auto user = users.find(c.user);
    if (user == users.end()) {
      if (deleted.count(c.user)) reason = "user " + c.user + " was deleted";
    } else if (!user->second->active) {
      reason = "user " + c.user + " is disabled";
    } else if (!user->second->credential_issued_at.empty() &&
               user->second->credential_issued_at != user->second->created_at) {
      std::optional<std::int64_t> rotated = rfc3339_to_unix_ms(user->second->credential_issued_at);
      // Opened at or before the rotation's millisecond: it may hold the old
      // token, so it goes (fail closed). A connection without a time is one
      // the broker cannot place: left alone, and never all of them.
      if (rotated && c.connected_at_ms && *c.connected_at_ms <= *rotated) {
        reason = "the token of user " + c.user + " was rotated after this connection opened";
      }
    }
    if (reason.empty()) continue;
    GuardianAction a;
    a.kind = GuardianAction::Kind::close_connection;
    a.vhost = c.vhost;
    a.name = c.name;
    a.owner = c.user;
    a.reason = reason;
    out->push_back(a);
  }
}

}  // namespace

std::vector<GuardianAction> plan_guardian(const GuardianInput& input) {
  std::map<std::string, const UserInfo*> users;
  for (const UserInfo& u : input.users) users[u.name] = &u;
  std::vector<GuardianAction> actions;
  plan_connections(input, users, &actions);
  plan_queues(input, users, &actions);
  plan_exchanges(input, users, &actions);
  return actions;
}

}  // namespace authsvc
