#include "authsvc/guardian/guardian_mail.h"

#include <fmt/format.h>

namespace authsvc {
namespace {

constexpr const char* kSignature =
    "\n-- \nauthsvc guardian, on behalf of the Pulse operators.\n"
    "The Pulse specification asks consumers to keep their queues short: a queue\n"
    "that grows without bound slows the broker for everyone.\n";

std::string where(const GuardianAction& a) {
  return fmt::format("{} (vhost {}, owner {})", a.name, a.vhost, a.owner);
}

}  // namespace

std::optional<OutboxMail> mail_for(const GuardianAction& a) {
  if (a.email.empty()) return std::nullopt;
  OutboxMail mail;
  mail.recipient = a.email;
  using Kind = GuardianAction::Kind;
  switch (a.kind) {
    case Kind::warn_queue:
      mail.subject = fmt::format("[Pulse] queue {} holds {} messages", a.name, a.messages);
      mail.body = fmt::format(
          "Your queue {}\nholds {} messages, at or past the warning threshold of {}.\n\n"
          "If it reaches {} messages it will be deleted, with its messages.\n"
          "Consume from it faster, or delete it if nothing reads it any more.\n"
          "You will get one more mail when it is back under {}.\n{}",
          where(a), a.messages, a.threshold, a.delete_threshold, a.threshold, kSignature);
      return mail;
    case Kind::queue_back_to_normal:
      mail.subject =
          fmt::format("[Pulse] queue {} is back to normal ({} messages)", a.name, a.messages);
      mail.body = fmt::format(
          "Your queue {}\nholds {} messages, back under the warning threshold of {}.\n"
          "Nothing more to do.\n{}",
          where(a), a.messages, a.threshold, kSignature);
      return mail;
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
      return mail;
    case Kind::report_exchange:
      mail.subject = fmt::format("[Pulse] exchange {} does not follow the Pulse rules", a.name);
      mail.body = fmt::format(
          "Your exchange {}\ndoes not follow the Pulse specification: {}.\n\n"
          "Pulse exchanges MUST be durable topic exchanges. Delete it and declare it\n"
          "again with type topic and durable set. You are told about it once.\n{}",
          where(a), a.reason, kSignature);
      return mail;
    case Kind::delete_exchange:
      mail.subject = fmt::format("[Pulse] exchange {} was deleted", a.name);
      mail.body = fmt::format(
          "Your exchange {}\nwas deleted: {}. Pulse exchanges MUST be durable topic\n"
          "exchanges; declare it again as one.\n{}",
          where(a), a.reason, kSignature);
      return mail;
    case Kind::forget_queue_notice:
    case Kind::forget_exchange_notice:
    case Kind::close_connection:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace authsvc
