#include "authsvc/guardian/report_card.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <utility>

#include "authsvc/core/message_inspection.h"
#include "authsvc/guardian/exchange_directory.h"

namespace authsvc {

std::string_view to_string(Obligation obligation) {
  return obligation == Obligation::must ? "MUST" : "SHOULD";
}

std::string_view to_string(Standing standing) {
  switch (standing) {
    case Standing::met:
      return "met";
    case Standing::not_met:
      return "NOT MET";
    case Standing::not_seen:
      break;
  }
  return "not seen";
}

namespace {

// At most this many names in one line of evidence; the rest are counted.
constexpr std::size_t kNamesShown = 5;

std::string some_of(const std::vector<std::string>& names) {
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < names.size() && i < kNamesShown; ++i)
    shown.push_back(shown_text(names[i]));
  std::string text = fmt::format("{}", fmt::join(shown, ", "));
  if (names.size() > kNamesShown) text += fmt::format(" and {} more", names.size() - kNamesShown);
  return text;
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

ReportItem item(std::string subject, Obligation obligation, std::string rule) {
  ReportItem i;
  i.subject = std::move(subject);
  i.obligation = obligation;
  i.rule = std::move(rule);
  return i;
}

// Met when nothing fails, not met when something does, not seen when there
// was nothing to judge.
void judge(ReportItem* i, std::size_t judged, std::size_t failed) {
  i->standing = judged == 0 ? Standing::not_seen : failed == 0 ? Standing::met : Standing::not_met;
}

bool owned_by(std::string_view prefix, const std::string& name, const std::string& account) {
  std::optional<std::string> owner = owner_of(prefix, name);
  return owner && *owner == account;
}

void exchange_items(const ReportCardInput& in, const std::vector<const ExchangeInfo*>& own,
                    std::vector<ReportItem>* out) {
  const std::string none = fmt::format("{} has no exchange on the broker", in.account);
  ReportItem named = item("Exchanges", Obligation::must, "be named exchange/<clientId>/<name>");
  judge(&named, own.size(), 0);
  named.evidence.push_back(
      own.empty()
          ? none
          : fmt::format("{}, each named exchange/{}/...; the broker refuses {} any other",
                        plural(own.size(), "exchange", "exchanges"), in.account, in.account));
  out->push_back(std::move(named));

  std::vector<std::string> not_topic, not_durable;
  for (const ExchangeInfo* e : own) {
    if (e->type != "topic") not_topic.push_back(e->name + " (" + e->type + ")");
    if (!e->durable) not_durable.push_back(e->name);
  }
  ReportItem topic = item("Exchanges", Obligation::must, "be topic exchanges");
  judge(&topic, own.size(), not_topic.size());
  topic.evidence.push_back(
      own.empty() ? none
                  : fmt::format("{} of {} topic", own.size() - not_topic.size(), own.size()));
  if (!not_topic.empty()) topic.evidence.push_back("not topic: " + some_of(not_topic));
  out->push_back(std::move(topic));

  ReportItem durable = item("Exchanges", Obligation::must, "be durable");
  judge(&durable, own.size(), not_durable.size());
  durable.evidence.push_back(
      own.empty() ? none
                  : fmt::format("{} of {} durable", own.size() - not_durable.size(), own.size()));
  if (!not_durable.empty()) durable.evidence.push_back("not durable: " + some_of(not_durable));
  out->push_back(std::move(durable));
}

// The messages' rules: a violation kind (or two) each, and one without:
// the routing key's fields, which the sampler counts per exchange.
struct MessageRule {
  Obligation obligation;
  std::string rule;
  std::vector<MessageViolation> kinds;
};

std::int64_t count_of(const ExchangeSample& s, const std::vector<MessageViolation>& kinds,
                      std::string* last_at) {
  std::int64_t n = 0;
  for (const ExchangeViolationRecord& v : s.violations) {
    if (std::find(kinds.begin(), kinds.end(), v.kind) == kinds.end()) continue;
    n += v.count;
    *last_at = std::max(*last_at, v.last_at);
  }
  return n;
}

void message_items(const ReportCardInput& in, const std::vector<const ExchangeSample*>& sampled,
                   std::vector<ReportItem>* out) {
  std::int64_t inspected = 0;
  for (const ExchangeSample* s : sampled) inspected += s->inspected;
  std::string seen = fmt::format("{} of its messages inspected, on {}", inspected,
                                 plural(sampled.size(), "exchange", "exchanges"));
  std::string none = fmt::format(
      "no message of {}'s inspected (the guardian samples with --sample-messages)", in.account);

  const std::vector<MessageRule> rules = {
      {Obligation::must,
       "be UTF-8-encoded JSON",
       {MessageViolation::not_utf8, MessageViolation::not_json}},
      {Obligation::must,
       "carry application/json as Content-Type",
       {MessageViolation::content_type}},
      {Obligation::should, "be durable (persistent)", {MessageViolation::transient}},
      {Obligation::should, "be less than 8 KiB", {MessageViolation::oversize}},
  };
  for (const MessageRule& rule : rules) {
    ReportItem i = item("Messages", rule.obligation, rule.rule);
    std::size_t failing = 0;
    std::vector<std::string> lines;
    for (const ExchangeSample* s : sampled) {
      std::string last_at;
      std::int64_t n = count_of(*s, rule.kinds, &last_at);
      if (n == 0) continue;
      ++failing;
      lines.push_back(fmt::format("{}: {} of {} inspected, the last {}",
                                  shown_text(s->exchange.name), n, s->inspected,
                                  readable_utc(last_at)));
    }
    judge(&i, sampled.size(), failing);
    i.evidence.push_back(sampled.empty() ? none : seen);
    i.evidence.insert(i.evidence.end(), lines.begin(), lines.end());
    out->push_back(std::move(i));
  }

  ReportItem key = item("Messages", Obligation::should,
                        "have a routing key where fields have a fixed index from the left");
  std::size_t failing = 0;
  std::vector<std::string> lines;
  for (const ExchangeSample* s : sampled) {
    std::string last_at;
    std::int64_t empty = count_of(*s, {MessageViolation::no_routing_key}, &last_at);
    bool varying = s->routing_key_fields_min != s->routing_key_fields_max;
    if (empty == 0 && !varying) continue;
    ++failing;
    if (empty > 0)
      lines.push_back(fmt::format("{}: {} of {} without a routing key, the last {}",
                                  shown_text(s->exchange.name), empty, s->inspected,
                                  readable_utc(last_at)));
    if (varying)
      lines.push_back(fmt::format("{}: routing keys of {} to {} fields",
                                  shown_text(s->exchange.name), s->routing_key_fields_min,
                                  s->routing_key_fields_max));
  }
  judge(&key, sampled.size(), failing);
  key.evidence.push_back(sampled.empty() ? none : seen);
  key.evidence.insert(key.evidence.end(), lines.begin(), lines.end());
  out->push_back(std::move(key));
}

void publisher_item(const ReportCardInput& in, std::vector<ReportItem>* out) {
  ReportItem i = item("Publishers", Obligation::should, "use confirm-publish channels");
  std::size_t publishing = 0;
  std::vector<std::string> without;
  for (const ChannelInfo& c : in.channels) {
    if (c.user != in.account || c.published.value_or(0) == 0) continue;
    ++publishing;
    if (!c.confirm) without.push_back(c.name);
  }
  judge(&i, publishing, without.size());
  if (publishing == 0) {
    i.evidence.push_back(fmt::format(
        "no open channel of {}'s has published (the broker lists open channels only)", in.account));
  } else {
    i.evidence.push_back(fmt::format("open channels that published: {}, in confirm mode: {}",
                                     publishing, publishing - without.size()));
  }
  if (!without.empty()) i.evidence.push_back("without confirms: " + some_of(without));
  out->push_back(std::move(i));
}

void consumer_item(const ReportCardInput& in, std::vector<ReportItem>* out) {
  std::map<std::string, std::int64_t> global_prefetch;
  for (const ChannelInfo& c : in.channels) global_prefetch[c.name] = c.global_prefetch;
  ReportItem i = item("Consumers", Obligation::should, "specify a consumer prefetch limit");
  std::size_t consumers = 0;
  std::vector<std::string> unlimited, no_ack;
  for (const ConsumerInfo& c : in.consumers) {
    if (c.user != in.account) continue;
    ++consumers;
    // A no-ack consumer is sent everything at once, whatever its limit.
    if (!c.ack_required) {
      no_ack.push_back(c.queue);
      continue;
    }
    auto shared = global_prefetch.find(c.channel);
    bool limited = c.prefetch > 0 || (shared != global_prefetch.end() && shared->second > 0);
    if (!limited) unlimited.push_back(c.queue);
  }
  judge(&i, consumers, unlimited.size() + no_ack.size());
  if (consumers == 0) {
    i.evidence.push_back(fmt::format("{} has no consumer now", in.account));
  } else {
    i.evidence.push_back(fmt::format("consumers: {}, with a prefetch limit: {}", consumers,
                                     consumers - unlimited.size() - no_ack.size()));
  }
  if (!unlimited.empty()) i.evidence.push_back("without a limit, on " + some_of(unlimited));
  if (!no_ack.empty())
    i.evidence.push_back("no-ack (a limit does not hold them back), on " + some_of(no_ack));
  out->push_back(std::move(i));
}

void queue_items(const ReportCardInput& in, std::vector<ReportItem>* out) {
  std::vector<const QueueStatus*> own;
  for (const QueueStatus& s : in.queues)
    if (s.owner && *s.owner == in.account) own.push_back(&s);

  const std::string none = fmt::format("{} has no queue on the broker", in.account);
  ReportItem named = item("Queues", Obligation::must, "be named queue/<clientId>/<name>");
  judge(&named, own.size(), 0);
  named.evidence.push_back(
      own.empty() ? none
                  : fmt::format("{}, each named queue/{}/...; the broker refuses {} any other",
                                plural(own.size(), "queue", "queues"), in.account, in.account));
  out->push_back(std::move(named));

  ReportItem bounded = item("Queues", Obligation::must, "not grow unbounded");
  std::size_t by_limit = 0, within = 0, exempt = 0, unknown = 0;
  std::vector<std::string> over;
  for (const QueueStatus* s : own) {
    const QueueInfo& q = s->queue;
    switch (s->state) {
      case QueueState::bounded:
        ++by_limit;
        break;
      case QueueState::ok:
      case QueueState::back_under_warning:
        ++within;
        break;
      case QueueState::exempt:
        ++exempt;
        break;
      case QueueState::size_unknown:
      case QueueState::not_a_users_queue:
        ++unknown;
        break;
      case QueueState::over_warning:
      case QueueState::warned:
      case QueueState::over_deletion:
        over.push_back(fmt::format("{} ({} messages; warned at {}, deleted at {})", q.name,
                                   q.messages.value_or(0), s->limits.warn, s->limits.remove));
        break;
      case QueueState::capped:
        over.push_back(fmt::format("{} ({} messages; capped by the guardian at {})", q.name,
                                   q.messages.value_or(0), s->limits.remove));
        break;
    }
  }
  judge(&bounded, own.size() - unknown, over.size());
  if (own.size() > unknown) {
    std::vector<std::string> parts;
    if (by_limit > 0) parts.push_back(fmt::format("{} bounded by a length limit", by_limit));
    if (within > 0) parts.push_back(fmt::format("{} under the warning threshold", within));
    if (exempt > 0) parts.push_back(fmt::format("{} exempted by the operator", exempt));
    if (!over.empty()) parts.push_back(fmt::format("{} past the warning threshold", over.size()));
    bounded.evidence.push_back(fmt::format("{}", fmt::join(parts, ", ")));
  } else {
    bounded.evidence.push_back(own.empty() ? none : "the broker does not report their sizes yet");
  }
  if (!over.empty()) bounded.evidence.push_back("past: " + some_of(over));
  out->push_back(std::move(bounded));

  // "Subscribers SHOULD use either durable queues or auto-delete queues":
  // an exclusive queue goes with its connection, as an auto-delete one
  // goes with its last consumer, so it counts as one.
  ReportItem lasting = item("Queues", Obligation::should, "be durable or auto-delete");
  std::vector<std::string> neither;
  for (const QueueStatus* s : own)
    if (!s->queue.durable && !s->queue.auto_delete && !s->queue.exclusive)
      neither.push_back(s->queue.name);
  judge(&lasting, own.size(), neither.size());
  lasting.evidence.push_back(own.empty() ? none
                                         : fmt::format("{} of {} durable, auto-delete or exclusive",
                                                       own.size() - neither.size(), own.size()));
  if (!neither.empty())
    lasting.evidence.push_back("transient yet kept after use: " + some_of(neither));
  out->push_back(std::move(lasting));
}

}  // namespace

std::vector<ReportItem> report_card(const ReportCardInput& in) {
  std::vector<const ExchangeInfo*> own;
  std::set<std::pair<std::string, std::string>> listed;
  for (const ExchangeInfo& e : in.exchanges) {
    if (!owned_by("exchange", e.name, in.account)) continue;
    own.push_back(&e);
    listed.insert({e.vhost, e.name});
  }
  // Samples of exchanges deleted since do not count: the card is about
  // what the account publishes now.
  std::vector<const ExchangeSample*> sampled;
  for (const ExchangeSample& s : in.samples)
    if (s.inspected > 0 && listed.count({s.exchange.vhost, s.exchange.name})) sampled.push_back(&s);

  std::vector<ReportItem> card;
  exchange_items(in, own, &card);
  message_items(in, sampled, &card);
  publisher_item(in, &card);
  consumer_item(in, &card);
  queue_items(in, &card);
  return card;
}

std::vector<ExchangeSample> samples_of(const std::string& account,
                                       const std::vector<ExchangeInfo>& exchanges,
                                       ExchangeSampleStore& store) {
  std::vector<ExchangeSample> samples;
  for (const ExchangeInfo& e : exchanges) {
    if (!owned_by("exchange", e.name, account)) continue;
    if (std::optional<ExchangeSample> s = store.exchange_sample(ResourceKey{e.vhost, e.name}))
      samples.push_back(std::move(*s));
  }
  return samples;
}

bool breaks_a_must(const std::vector<ReportItem>& card) {
  return std::any_of(card.begin(), card.end(), [](const ReportItem& i) {
    return i.obligation == Obligation::must && i.standing == Standing::not_met;
  });
}

}  // namespace authsvc
