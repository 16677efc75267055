#include "authsvc/guardian/violation_mail.h"

#include <fmt/format.h>

#include "authsvc/core/duration.h"
#include "authsvc/core/payload_sample.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/guardian/exchange_directory.h"

namespace authsvc {
namespace {

// Of the payload, what a mail shows: enough to recognise the message.
constexpr std::size_t kMailPayloadBytes = 512;

std::string_view described(MessageViolation kind) {
  switch (kind) {
    case MessageViolation::not_utf8:
      return "messages that are not UTF-8";
    case MessageViolation::not_json:
      return "messages that are not JSON";
    case MessageViolation::content_type:
      return "messages whose content type is not application/json";
    case MessageViolation::oversize:
      return "messages larger than 8 KiB";
    case MessageViolation::transient:
      return "messages that are not persistent";
    case MessageViolation::no_routing_key:
      return "messages without a routing key";
  }
  return "messages that break the Pulse rules";
}

std::string shown(const std::string& bytes, std::size_t max_bytes) {
  return "\"" + escaped_sample(bytes, max_bytes) + "\"";
}

}  // namespace

std::vector<ViolationMailDue> violation_mails_due(const std::vector<ExchangeSample>& samples,
                                                  std::chrono::system_clock::time_point now,
                                                  std::chrono::seconds period) {
  const auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const auto period_us = std::chrono::duration_cast<std::chrono::microseconds>(period).count();
  std::vector<ViolationMailDue> due;
  for (const ExchangeSample& sample : samples) {
    for (const ExchangeViolationRecord& violation : sample.violations) {
      if (violation.count <= violation.mailed_count) continue;
      if (!violation.mailed_at.empty()) {
        std::optional<std::int64_t> mailed_us = rfc3339_to_unix_us(violation.mailed_at);
        // A time the store cannot have written: mail rather than stay silent.
        if (mailed_us && *mailed_us + period_us > now_us) continue;
      }
      due.push_back(ViolationMailDue{sample.exchange, violation, sample.inspected});
    }
  }
  return due;
}

std::vector<OutboxMail> violation_mails(const ViolationMailDue& due, const std::string& owner,
                                        const std::vector<std::string>& emails,
                                        std::chrono::seconds period) {
  const ExchangeViolationRecord& v = due.violation;
  const MessageExample& example = v.example;
  const std::string name = escaped_sample(due.exchange.name, 255);
  const std::int64_t new_count = v.count - v.mailed_count;
  OutboxMail mail;
  mail.subject =
      fmt::format("[Pulse] exchange {}: {} ({})", name, described(v.kind), violation_name(v.kind));
  std::string content_type =
      example.content_type ? shown(*example.content_type, 255) : std::string("(none)");
  std::string delivery_mode = delivery_mode_text(example.delivery_mode);
  mail.body = fmt::format(
      "Your exchange {}\n(vhost {}, owner {}) carries {}.\n\n"
      "The Pulse specification says: \"{}\" ({}).\n\n"
      "The guardian inspects a sample of the messages published on each Pulse\n"
      "exchange. Of those it inspected on this one, {} broke this rule{}\n"
      "({} of {} inspected, all told).\n\n"
      "The last of them:\n"
      "  routing key:   {}\n"
      "  content type:  {}\n"
      "  delivery mode: {}\n"
      "  size:          {} bytes\n"
      "  payload:       {}\n\n"
      "Consumers rely on these rules to read your messages; please fix the\n"
      "publisher. You get at most one mail about this on this exchange every\n"
      "{}, and only when new messages broke the rule.\n"
      "\n-- \nauthsvc guardian, on behalf of the Pulse operators.\n",
      name, escaped_sample(due.exchange.vhost, 255), owner, described(v.kind),
      violation_rule(v.kind), violation_is_must(v.kind) ? "a MUST" : "a SHOULD", new_count,
      v.mailed_count > 0 ? " since the last mail" : "", v.count, due.inspected,
      shown(example.routing_key, 255), content_type, delivery_mode, example.size,
      shown(example.payload, kMailPayloadBytes), format_duration(period));
  std::vector<OutboxMail> mails;
  for (const std::string& address : emails) {
    mail.recipient = address;
    mails.push_back(mail);
  }
  return mails;
}

}  // namespace authsvc
