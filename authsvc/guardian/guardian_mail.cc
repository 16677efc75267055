#include "authsvc/guardian/guardian_mail.h"

#include <fmt/format.h>

#include <cmath>

#include "authsvc/core/duration.h"
#include "authsvc/guardian/queue_growth.h"

namespace authsvc {
namespace {

constexpr const char* kSignature =
    "\n-- \nauthsvc guardian, on behalf of the Pulse operators.\n"
    "The Pulse specification asks consumers to keep their queues short: a queue\n"
    "that grows without bound slows the broker for everyone.\n";

std::string where(const GuardianAction& a) {
  return fmt::format("{} (vhost {}, owner {})", a.name, a.vhost, a.owner);
}

// "2027-01-31 12:00:00 UTC" from the store's "2027-01-31T12:00:00.000000Z".
std::string readable_time(const std::string& rfc3339) {
  if (rfc3339.size() < 19 || rfc3339[10] != 'T') return rfc3339;
  return rfc3339.substr(0, 10) + " " + rfc3339.substr(11, 8) + " UTC";
}

// What is left, rounded down to a unit people think in: "6 days",
// "23 hours", "1 minute", "less than a minute".
std::string time_left(std::int64_t seconds) {
  struct Unit {
    std::int64_t seconds;
    const char* name;
  };
  for (Unit unit : {Unit{86400, "day"}, Unit{3600, "hour"}, Unit{60, "minute"}}) {
    std::int64_t n = seconds / unit.seconds;
    if (n > 0) return fmt::format("{} {}{}", n, unit.name, n == 1 ? "" : "s");
  }
  return "less than a minute";
}

// "about 15 messages a minute", "about 2.5 messages a minute".
std::string pace(double per_minute) {
  double size = std::abs(per_minute);
  if (size >= 10) return fmt::format("about {:.0f} messages a minute", size);
  return fmt::format("about {:.1f} messages a minute", size);
}

// What a warning says of the queue's pace, if the guardian knows it: how
// fast it grew and, at that rate, when it reaches the deletion threshold.
std::string pace_paragraph(const GuardianAction& a) {
  if (!a.growth) return "";
  std::string over = time_left(a.growth->over.count());
  if (a.growth->per_minute < 0) {
    return fmt::format("It shrank by {} over the last {}.\n\n", pace(a.growth->per_minute), over);
  }
  std::optional<std::chrono::seconds> eta =
      time_to_reach(a.messages, a.delete_threshold, a.growth->per_minute);
  if (!eta) return fmt::format("It has not grown over the last {}.\n\n", over);
  return fmt::format(
      "It grew by {} over the last {}: at that pace it reaches {} messages, and is {}, in "
      "{}.\n\n",
      pace(a.growth->per_minute), over, a.delete_threshold,
      a.over_limit == OverLimit::cap ? "capped" : "deleted",
      eta->count() < 60 ? std::string("less than a minute") : "about " + time_left(eta->count()));
}

// What happens at the deletion threshold, in the owner's mode.
std::string at_threshold(const GuardianAction& a) {
  if (a.over_limit == OverLimit::cap) {
    return fmt::format(
        "If it reaches {} messages it will be capped there: its oldest messages\n"
        "dropped as new ones arrive, its bindings and consumers kept.\n",
        a.delete_threshold);
  }
  return fmt::format("If it reaches {} messages it will be deleted, with its messages.\n",
                     a.delete_threshold);
}

// How to take the cap off: its words are in the cap mail and the audit.
std::string how_to_lift(const GuardianAction& a) {
  return fmt::format(
      "The cap is lifted by itself once the queue holds fewer than {} ready\n"
      "messages: consume its backlog. An operator can lift it at once with\n\n"
      "    rabbitmqctl clear_operator_policy -p {} {}\n\n"
      "(the guardian caps it again if it is still past {} at its next look),\n"
      "or exempt the queue: authsvc queue exempt --vhost {} {}.\n",
      a.warn_threshold, a.vhost, cap_policy_name(a.vhost, a.name), a.delete_threshold, a.vhost,
      a.name);
}

std::string joined(const std::vector<std::string>& items) {
  return fmt::format("{}", fmt::join(items, ", "));
}

// The subject and body of the mail `a` sends; false for an action that
// sends none.
bool compose(const GuardianAction& a, OutboxMail& mail);

}  // namespace

std::vector<OutboxMail> mails_for(const GuardianAction& a) {
  std::vector<OutboxMail> mails;
  OutboxMail mail;
  if (a.emails.empty() || !compose(a, mail)) return mails;
  for (const std::string& address : a.emails) {
    mail.recipient = address;
    mails.push_back(mail);
  }
  return mails;
}

namespace {

bool compose(const GuardianAction& a, OutboxMail& mail) {
  using Kind = GuardianAction::Kind;
  switch (a.kind) {
    case Kind::warn_queue:
      mail.subject = fmt::format("[Pulse] queue {} holds {} messages", a.name, a.messages);
      mail.body = fmt::format(
          "Your queue {}\nholds {} messages, at or past the warning threshold of {}.\n\n"
          "{}"
          "{}"
          "Consume from it faster, or delete it if nothing reads it any more.\n"
          "You will get one more mail when it is back under {}.\n\n"
          "To keep the guardian from ever {} it, bound it yourself, as the Pulse\n"
          "specification allows: declare it with the argument x-max-length={}\n"
          "(or lower), and RabbitMQ drops its oldest messages past that length\n"
          "(x-overflow=drop-head, the default). The guardian leaves a queue\n"
          "bounded at or below {} messages alone.\n{}",
          where(a), a.messages, a.threshold, pace_paragraph(a), at_threshold(a), a.threshold,
          a.over_limit == OverLimit::cap ? "capping" : "deleting", a.delete_threshold,
          a.delete_threshold, kSignature);
      return true;
    case Kind::queue_back_to_normal:
      mail.subject =
          fmt::format("[Pulse] queue {} is back to normal ({} messages)", a.name, a.messages);
      mail.body = fmt::format(
          "Your queue {}\nholds {} messages, back under the warning threshold of {}.\n"
          "Nothing more to do.\n{}",
          where(a), a.messages, a.threshold, kSignature);
      return true;
    case Kind::delete_queue:
    case Kind::finish_queue_deletion:
      mail.subject = fmt::format("[Pulse] queue {} was deleted ({} messages)", a.name, a.messages);
      mail.body = fmt::format(
          "Your queue {}\nwas deleted, with the {} messages it held: it had reached the\n"
          "deletion threshold of {} messages.\n\n"
          "Messages published since then to the exchanges it was bound to are lost for\n"
          "you. Declare the queue again to resume, and consume from it fast enough to\n"
          "keep it short.\n{}",
          where(a), a.messages, a.delete_threshold, kSignature);
      return true;
    case Kind::report_exchange:
      mail.subject = fmt::format("[Pulse] exchange {} does not follow the Pulse rules", a.name);
      mail.body = fmt::format(
          "Your exchange {}\ndoes not follow the Pulse specification: {}.\n\n"
          "Pulse exchanges MUST be durable topic exchanges. Delete it and declare it\n"
          "again with type topic and durable set. You are told about it once.\n{}",
          where(a), a.reason, kSignature);
      return true;
    case Kind::delete_exchange:
      mail.subject = fmt::format("[Pulse] exchange {} was deleted", a.name);
      mail.body = fmt::format(
          "Your exchange {}\nwas deleted: {}. Pulse exchanges MUST be durable topic\n"
          "exchanges; declare it again as one.\n{}",
          where(a), a.reason, kSignature);
      return true;
    case Kind::expiry_notice:
      mail.subject = fmt::format("[Pulse] account {} expires in {}, on {}", a.owner,
                                 time_left(a.remaining), readable_time(a.expires_at));
      mail.body = fmt::format(
          "The Pulse account {} expires on {},\nin {}.\n\n"
          "From then on it can no longer log in, whatever its credentials, and the\n"
          "connections it still has open are closed.\n\n"
          "To keep it, ask a Pulse operator to renew it: renewing is the operators'\n"
          "decision, owners cannot extend an account themselves. The operator runs\n\n"
          "    authsvc user set {} --expires WHEN\n\n"
          "where WHEN is a time (2027-01-31T12:00:00Z), a duration from now (90d), or\n"
          "never. If the account is no longer needed, nothing is to be done.\n\n"
          "This is the notice due {} before the expiry, sent to each of the account's\n"
          "owners: {}.\n"
          "\n-- \nauthsvc guardian, on behalf of the Pulse operators.\n",
          a.owner, readable_time(a.expires_at), time_left(a.remaining), a.owner,
          format_duration(std::chrono::seconds(a.lead)), joined(a.emails));
      return true;
    case Kind::cap_queue:
      mail.subject =
          fmt::format("[Pulse] queue {} is capped at {} messages", a.name, a.delete_threshold);
      mail.body = fmt::format(
          "Your queue {}\nholds {} messages, at or past the deletion threshold of {}.\n"
          "Your account's queues are capped rather than deleted, so it was not deleted:\n"
          "the guardian applied the operator policy {}\n"
          "(pattern {}, max-length {}) to it alone.\n\n"
          "From now on RabbitMQ drops its oldest messages as new ones arrive, so it\n"
          "never holds more than {} ready messages. Its bindings and consumers stay;\n"
          "messages dropped are lost for you.\n\n{}{}",
          where(a), a.messages, a.delete_threshold, cap_policy_name(a.vhost, a.name),
          cap_policy_pattern(a.name), a.delete_threshold, a.delete_threshold, how_to_lift(a),
          kSignature);
      return true;
    case Kind::lift_cap:
      mail.subject = fmt::format("[Pulse] the cap on queue {} is lifted", a.name);
      mail.body = fmt::format(
          "Your queue {}\nis no longer capped: {} ({} ready messages). The guardian\n"
          "removed its operator policy {}.\n\n"
          "{}"
          "Nothing more to do.\n{}",
          where(a), a.reason, a.messages, cap_policy_name(a.vhost, a.name), at_threshold(a),
          kSignature);
      return true;
    case Kind::recreated_queue:
      mail.subject = fmt::format("[Pulse] queue {} was deleted on {} and declared again", a.name,
                                 readable_time(a.since));
      mail.body = fmt::format(
          "Your queue {}\nexists again. The guardian had deleted it on {},\n"
          "when it held {} messages, past the deletion threshold of {}.\n\n"
          "The queue you have now is a new, empty one: the messages it held then, and\n"
          "those published to its exchanges between its deletion and its declaration,\n"
          "are lost for you. If your consumer depends on every message, fetch what it\n"
          "missed from their source.\n\n"
          "To keep it from being deleted again, consume from it fast enough, or bound\n"
          "it yourself with the argument x-max-length={} (or lower).\n{}",
          where(a), readable_time(a.since), a.messages, a.threshold, a.threshold, kSignature);
      return true;
    case Kind::orphan_notice:
      mail.subject = fmt::format("[Pulse] queue {} has had no consumer since {}", a.name,
                                 readable_time(a.since));
      mail.body = fmt::format(
          "Your queue {}\nhas had no consumer since {}; it holds {} messages.\n\n"
          "A queue nobody reads keeps growing as long as messages are published to\n"
          "its exchanges, until the guardian deletes it (or caps it). If your consumer\n"
          "stopped, start it again. If nothing reads this queue any more, delete it:\n"
          "it costs the broker memory and disk for everyone.\n\n"
          "You are told once; again only if it gets a consumer and loses it again.\n{}",
          where(a), readable_time(a.since), a.messages, kSignature);
      return true;
    case Kind::forget_queue_notice:
    case Kind::forget_exchange_notice:
    case Kind::close_connection:
    case Kind::report_internal_user:
    case Kind::remove_cap:
    case Kind::forget_deleted_queue:
    case Kind::note_idle_queue:
    case Kind::note_busy_queue:
      return false;
  }
  return false;
}

}  // namespace

}  // namespace authsvc
