#include "authsvc/guardian/guardian_policy.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "authsvc/core/duration.h"
#include "authsvc/core/names.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/guardian/expiry_notice.h"

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
    case GuardianAction::Kind::expiry_notice:
      return "expiry notice";
    case GuardianAction::Kind::report_internal_user:
      return "internal user";
    case GuardianAction::Kind::cap_queue:
      return "queue cap";
    case GuardianAction::Kind::lift_cap:
      return "queue cap lift";
    case GuardianAction::Kind::remove_cap:
      return "queue cap remove";
    case GuardianAction::Kind::recreated_queue:
      return "queue recreated";
    case GuardianAction::Kind::forget_deleted_queue:
      return "queue deletion forget";
    case GuardianAction::Kind::note_idle_queue:
      return "queue idle";
    case GuardianAction::Kind::note_busy_queue:
      return "queue busy";
    case GuardianAction::Kind::orphan_notice:
      return "queue orphan";
  }
  return "?";
}

std::string exchange_problem(const ExchangeInfo& e) {
  std::string problem;
  if (e.type != "topic") problem = "its type is " + e.type + ", not topic";
  if (!e.durable) problem += std::string(problem.empty() ? "" : " and ") + "it is not durable";
  return problem;
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

std::optional<std::int64_t> queue_length_limit(const QueueInfo& queue) {
  if (queue.max_length_argument && queue.policy_max_length) {
    return std::min(*queue.max_length_argument, *queue.policy_max_length);
  }
  return queue.max_length_argument ? queue.max_length_argument : queue.policy_max_length;
}

QueueLimits limits_for(const UserInfo* user, QueueLimits defaults) {
  if (user && user->queue_warn) defaults.warn = *user->queue_warn;
  if (user && user->queue_delete) defaults.remove = *user->queue_delete;
  if (user && user->over_limit) defaults.over_limit = *user->over_limit;
  return defaults;
}

std::string_view to_string(QueueState state) {
  switch (state) {
    case QueueState::not_a_users_queue:
      return "not a user's queue";
    case QueueState::exempt:
      return "exempt (unbounded)";
    case QueueState::bounded:
      return "bounded by its owner";
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
    case QueueState::capped:
      return "capped at the deletion threshold";
  }
  return "?";
}

QueueState classify_queue(const QueueInfo& q, QueueLimits limits, bool exempt,
                          std::optional<QueueNoticeState> notice) {
  if (!owner_of("queue", q.name)) return QueueState::not_a_users_queue;
  if (exempt) return QueueState::exempt;
  if (auto bound = queue_length_limit(q); bound && *bound <= limits.remove) {
    return QueueState::bounded;
  }
  if (!q.messages) return QueueState::size_unknown;  // unknown is not empty
  if (notice == QueueNoticeState::capped) {
    // The cap holds ready messages (max-length counts those): it is lifted
    // when they are back under the warning threshold.
    return q.messages_ready.value_or(*q.messages) < limits.warn ? QueueState::back_under_warning
                                                                : QueueState::capped;
  }
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
    if (user) s.emails = user->owners;
    s.limits = limits_for(user, in.limits);
    ResourceKey key{q.vhost, q.name};
    if (auto notice = notices.find(key); notice != notices.end()) s.notice = notice->second;
    s.state = classify_queue(q, s.limits, exempt.count(key) > 0, s.notice);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

using Users = std::map<std::string, const UserInfo*>;

// The account `user`'s owners as `a`'s recipients, if authsvc knows it.
void set_recipients(const Users& users, const std::string& user, GuardianAction* a) {
  auto found = users.find(user);
  a->known_user = found != users.end();
  if (a->known_user) a->emails = found->second->owners;
}

void plan_queues(const GuardianInput& in, const Users& users, std::vector<GuardianAction>* out) {
  std::set<ResourceKey> present;
  for (const QueueStatus& s : queue_statuses(in)) {
    present.insert(ResourceKey{s.queue.vhost, s.queue.name});
    GuardianAction a;
    a.vhost = s.queue.vhost;
    a.name = s.queue.name;
    a.owner = s.owner.value_or("");
    a.emails = s.emails;
    a.known_user = s.owner_known;
    a.messages = s.queue.messages.value_or(0);
    a.delete_threshold = s.limits.remove;
    a.warn_threshold = s.limits.warn;
    a.over_limit = s.limits.over_limit;
    a.operator_policy = s.queue.operator_policy;
    a.notice_state = s.notice;
    const bool capped = s.notice == QueueNoticeState::capped;
    switch (s.state) {
      case QueueState::not_a_users_queue:
      case QueueState::size_unknown:
      case QueueState::ok:
      case QueueState::warned:
        continue;
      case QueueState::exempt:
      case QueueState::bounded:
        if (!s.notice) continue;
        a.kind =
            capped ? GuardianAction::Kind::lift_cap : GuardianAction::Kind::forget_queue_notice;
        a.reason = s.state == QueueState::exempt ? "exempt" : "bounded by its owner";
        break;
      case QueueState::over_deletion:
        a.threshold = s.limits.remove;
        if (s.limits.over_limit == OverLimit::cap && drops_oldest(s.queue)) {
          a.kind = GuardianAction::Kind::cap_queue;
          break;
        }
        a.kind = GuardianAction::Kind::delete_queue;
        if (s.limits.over_limit == OverLimit::cap) {
          a.reason = fmt::format(
              "not capped: its overflow is {}, so a cap would refuse its publishers' messages",
              s.queue.overflow);
        }
        break;
      case QueueState::capped:
        a.threshold = s.limits.remove;
        if (s.limits.over_limit != OverLimit::cap) {
          // The operator switched the account to deletion: lifted, and the
          // next look deletes it if it grows back past the threshold.
          a.kind = GuardianAction::Kind::lift_cap;
          a.reason = "the account's queues are deleted past the threshold now";
          break;
        }
        // Recorded but not applied (a crash in between, or someone removed
        // the policy): applied again, without a mail.
        if (cap_in_effect(s.queue)) continue;
        a.kind = GuardianAction::Kind::cap_queue;
        break;
      case QueueState::over_warning: {
        a.kind = GuardianAction::Kind::warn_queue;
        a.threshold = s.limits.warn;
        auto pace = in.growth.find(ResourceKey{s.queue.vhost, s.queue.name});
        if (pace != in.growth.end()) a.growth = pace->second;
        break;
      }
      case QueueState::back_under_warning:
        a.kind =
            capped ? GuardianAction::Kind::lift_cap : GuardianAction::Kind::queue_back_to_normal;
        a.threshold = s.limits.warn;
        if (capped) {
          a.messages = s.queue.messages_ready.value_or(a.messages);
          a.reason = "back under the warning threshold";
        }
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
    set_recipients(users, n.owner, &a);
    a.messages = n.messages;
    if (n.state == QueueNoticeState::deleting) {
      a.kind = GuardianAction::Kind::finish_queue_deletion;
      auto user = users.find(n.owner);
      a.delete_threshold = a.threshold =
          limits_for(user == users.end() ? nullptr : user->second, in.limits).remove;
    } else if (n.state == QueueNoticeState::capped) {
      a.kind = GuardianAction::Kind::remove_cap;
      a.reason = "the queue is gone";
    } else {
      a.kind = GuardianAction::Kind::forget_queue_notice;
      a.reason = "the queue is gone";
    }
    out->push_back(a);
  }
}

// How long a deletion is remembered: a queue declared again later is a
// new one, not a consumer coming back.
constexpr std::chrono::hours kDeletionMemory{24 * 30};

void plan_recreated_queues(const GuardianInput& in, const Users& users,
                           std::vector<GuardianAction>* out) {
  if (in.deleted_queues.empty()) return;
  std::set<ResourceKey> present;
  for (const QueueInfo& q : in.queues) present.insert(ResourceKey{q.vhost, q.name});
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(in.now.time_since_epoch()).count();
  for (const DeletedQueue& d : in.deleted_queues) {
    GuardianAction a;
    a.vhost = d.queue.vhost;
    a.name = d.queue.name;
    a.owner = d.owner;
    a.messages = d.messages;
    a.threshold = a.delete_threshold = d.threshold;
    a.since = d.deleted_at;
    std::optional<std::int64_t> deleted_ms = rfc3339_to_unix_ms(d.deleted_at);
    if (present.count(d.queue)) {
      if (deleted_ms && now_ms - *deleted_ms < in.recreated_after.count()) continue;
      a.kind = GuardianAction::Kind::recreated_queue;
      set_recipients(users, d.owner, &a);
    } else {
      // A time that cannot be read is forgotten too: it would stay forever.
      if (deleted_ms &&
          now_ms - *deleted_ms <
              std::chrono::duration_cast<std::chrono::milliseconds>(kDeletionMemory).count()) {
        continue;
      }
      a.kind = GuardianAction::Kind::forget_deleted_queue;
      a.reason = "deleted 30 days ago and not declared again";
    }
    out->push_back(std::move(a));
  }
}

void plan_orphans(const GuardianInput& in, const Users& users, std::vector<GuardianAction>* out) {
  if (!in.orphan_after) return;
  std::map<ResourceKey, const IdleQueue*> idle;
  for (const IdleQueue& q : in.idle_queues) idle[q.queue] = &q;
  const std::string now = rfc3339_utc(in.now);
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(in.now.time_since_epoch()).count();
  const std::int64_t after_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(*in.orphan_after).count();
  std::set<ResourceKey> present;
  for (const QueueInfo& q : in.queues) {
    ResourceKey key{q.vhost, q.name};
    present.insert(key);
    std::optional<std::string> owner = owner_of("queue", q.name);
    if (!owner || !q.consumers) continue;  // not a user's, or not known yet
    auto known = idle.find(key);
    GuardianAction a;
    a.vhost = q.vhost;
    a.name = q.name;
    a.owner = *owner;
    a.messages = q.messages.value_or(0);
    if (*q.consumers > 0) {
      if (known == idle.end()) continue;
      a.kind = GuardianAction::Kind::note_busy_queue;
    } else if (known == idle.end()) {
      a.kind = GuardianAction::Kind::note_idle_queue;
      a.since = now;
    } else {
      const IdleQueue& record = *known->second;
      if (!record.orphan_mailed_at.empty()) continue;
      std::optional<std::int64_t> since_ms = rfc3339_to_unix_ms(record.idle_since);
      if (!since_ms || now_ms - *since_ms < after_ms) continue;
      a.kind = GuardianAction::Kind::orphan_notice;
      a.since = record.idle_since;
      set_recipients(users, *owner, &a);
    }
    out->push_back(std::move(a));
  }
  for (const IdleQueue& q : in.idle_queues) {
    if (present.count(q.queue)) continue;
    GuardianAction a;
    a.kind = GuardianAction::Kind::note_busy_queue;
    a.vhost = q.queue.vhost;
    a.name = q.queue.name;
    a.owner = q.owner;
    a.reason = "the queue is gone";
    out->push_back(std::move(a));
  }
}

void plan_exchanges(const GuardianInput& in, const Users& users, std::vector<GuardianAction>* out) {
  std::map<ResourceKey, const ExchangeNotice*> notices;
  for (const ExchangeNotice& n : in.exchange_notices) notices[n.exchange] = &n;
  std::set<ResourceKey> still_wrong;
  for (const ExchangeInfo& e : in.exchanges) {
    std::optional<std::string> owner = owner_of("exchange", e.name);
    if (!owner) continue;
    std::string problem = exchange_problem(e);
    if (problem.empty()) continue;
    ResourceKey key{e.vhost, e.name};
    still_wrong.insert(key);
    GuardianAction a;
    a.vhost = e.vhost;
    a.name = e.name;
    a.owner = *owner;
    set_recipients(users, *owner, &a);
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

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Why `user`'s connection `c` must be closed at `now_ms`, or "" if not.
std::string why_close(const ConnectionInfo& c, const UserInfo& user, std::int64_t now_ms) {
  if (!user.active) return "user " + c.user + " is disabled";
  if (!user.expires_at.empty()) {
    std::optional<std::int64_t> expires = rfc3339_to_unix_ms(user.expires_at);
    // An expiry the store cannot give as a time: fail closed.
    if (!expires) return "the expiry time of user " + c.user + " cannot be read";
    if (now_ms >= *expires) return "the account " + c.user + " expired at " + user.expires_at;
  }
  // A connection without a time is one the broker cannot place: left
  // alone by the credential rule, so that it never closes all of them.
  if (!c.connected_at_ms) return "";
  std::optional<std::int64_t> grace_end = rfc3339_to_unix_ms(user.previous_valid_until);
  const bool in_grace = grace_end && now_ms < *grace_end;
  // The oldest credential that still logs in: during the grace the previous
  // one, after it the current one. A connection opened at or before its
  // issue (to the millisecond: it may have been opened with the one before,
  // so fail closed) holds a credential that no longer logs in.
  const std::string& oldest_valid_issued =
      in_grace ? user.previous_issued_at : user.credential_issued_at;
  if (oldest_valid_issued.empty()) return "";  // imported: older than anything we know
  std::optional<std::int64_t> issued = rfc3339_to_unix_ms(oldest_valid_issued);
  if (issued && *c.connected_at_ms > *issued) return "";
  if (!issued) return "the credential times of user " + c.user + " cannot be read";
  if (in_grace) {
    return "the credential of user " + c.user +
           " was rotated twice since this connection opened (the grace of the one before "
           "ends at " +
           user.previous_valid_until + ")";
  }
  if (grace_end && *grace_end > *issued) {
    return "the grace of the previous credential of user " + c.user + " ended at " +
           user.previous_valid_until;
  }
  return "the token of user " + c.user + " was rotated after this connection opened";
}

void plan_connections(const GuardianInput& in, const Users& users,
                      std::vector<GuardianAction>* out) {
  std::set<std::string> deleted(in.deleted_users.begin(), in.deleted_users.end());
  const std::int64_t now_ms = unix_ms(in.now);
  for (const ConnectionInfo& c : in.connections) {
    if (c.user.empty()) continue;
    std::string reason;
    auto user = users.find(c.user);
    if (user == users.end()) {
      if (deleted.count(c.user)) reason = "user " + c.user + " was deleted";
    } else {
      reason = why_close(c, *user->second, now_ms);
    }
    if (reason.empty()) continue;
    GuardianAction a;
    a.kind = GuardianAction::Kind::close_connection;
    a.vhost = c.vhost;
    a.name = c.name;
    a.owner = c.user;
    a.known_user = user != users.end();
    a.reason = reason;
    out->push_back(a);
  }
}

void plan_expiry_notices(const GuardianInput& in, std::vector<GuardianAction>* out) {
  for (const UserInfo& u : in.users) {
    // A disabled account logs in no more whatever its expiry; one whose
    // expiry cannot be read has its connections closed (above).
    if (!u.active || u.expires_at.empty()) continue;
    std::optional<std::int64_t> expires_ms = rfc3339_to_unix_ms(u.expires_at);
    if (!expires_ms) continue;
    const std::chrono::system_clock::time_point expires{std::chrono::milliseconds(*expires_ms)};
    std::optional<std::chrono::seconds> last_sent;
    if (u.expiry_notice_lead) last_sent = std::chrono::seconds(*u.expiry_notice_lead);
    std::optional<std::chrono::seconds> due =
        due_expiry_notice(expires, in.expiry_notice_leads, last_sent, in.now);
    if (!due) continue;
    GuardianAction a;
    a.kind = GuardianAction::Kind::expiry_notice;
    a.name = u.name;
    a.owner = u.name;
    a.emails = u.owners;
    a.known_user = true;
    a.expires_at = u.expires_at;
    a.lead = due->count();
    a.remaining = std::chrono::duration_cast<std::chrono::seconds>(expires - in.now).count();
    a.reason = "expires at " + u.expires_at + ", the notice " + format_duration(*due) + " before";
    out->push_back(a);
  }
}

}  // namespace

namespace {

// With the http backend first and the internal one after it (as
// rabbitmq.conf.example chains them, for the operators' accounts), the
// broker tries a login authsvc refuses against its internal database next:
// a user left there by a migration keeps logging in with its old password
// after authsvc disabled, deleted, rotated or expired it.
void plan_internal_users(const GuardianInput& in,
                         const std::map<std::string, const UserInfo*>& users,
                         std::vector<GuardianAction>* out) {
  std::set<std::string> deleted(in.deleted_users.begin(), in.deleted_users.end());
  for (const std::string& name : in.internal_users) {
    bool known = users.count(name) > 0;
    if ((!known && !deleted.count(name)) || in.reported_internal_users.count(name)) continue;
    GuardianAction a;
    a.kind = GuardianAction::Kind::report_internal_user;
    a.name = name;
    a.owner = name;
    a.known_user = known;
    a.reason = fmt::format(
        "{} {} is also in the broker's internal user database, where a login authsvc refuses is "
        "tried next; remove it there: rabbitmqctl delete_user {}",
        known ? "authsvc's user" : "authsvc's deleted user", name, name);
    out->push_back(std::move(a));
  }
}

}  // namespace

std::vector<GuardianAction> plan_guardian(const GuardianInput& input) {
  std::map<std::string, const UserInfo*> users;
  for (const UserInfo& u : input.users) users[u.name] = &u;
  std::vector<GuardianAction> actions;
  plan_connections(input, users, &actions);
  plan_expiry_notices(input, &actions);
  plan_queues(input, users, &actions);
  plan_recreated_queues(input, users, &actions);
  plan_orphans(input, users, &actions);
  plan_exchanges(input, users, &actions);
  plan_internal_users(input, users, &actions);
  return actions;
}

}  // namespace authsvc
