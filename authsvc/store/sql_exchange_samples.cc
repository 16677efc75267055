// The message sampler's part of the Store: what it saw on each exchange,
// and its mails about violations (schema/007_exchange_samples.sql).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "authsvc/core/text.h"
#include "authsvc/store/sql_store.h"

namespace authsvc {

namespace {

SqlParam bytes_param(const std::string& bytes) { return SqlParam::bytes(bytes); }

SqlParam optional_bytes_param(const std::optional<std::string>& bytes) {
  return bytes ? bytes_param(*bytes) : SqlParam();
}

std::string bytes_of(const SqlRow& row, int column) {
  std::vector<std::uint8_t> bytes = row.bytes(column);
  return std::string(bytes.begin(), bytes.end());
}

// Columns `first`..`first + 4` of a row: routing_key, content_type,
// delivery_mode, size, payload.
MessageExample example_of(const SqlRow& row, int first) {
  MessageExample example;
  example.routing_key = bytes_of(row, first);
  if (!row.is_null(first + 1)) example.content_type = bytes_of(row, first + 1);
  example.delivery_mode = row.optional_int64(first + 2);
  example.size = row.int64(first + 3);
  example.payload = bytes_of(row, first + 4);
  return example;
}

std::string json_keys_text(const std::vector<std::string>& keys) {
  // The inspector hands over valid UTF-8; replace, never throw, if not.
  return nlohmann::json(keys).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> json_keys_of(const std::string& text) {
  nlohmann::json keys = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> out;
  if (!keys.is_array()) throw StoreError("an exchange sample's JSON keys are not a JSON array");
  for (const nlohmann::json& key : keys) {
    if (key.is_string()) out.push_back(key.get<std::string>());
  }
  return out;
}

// `all_told` with `since` added (ExchangeSampleStore::add_exchange_samples).
void merge(ExchangeSample& all_told, const ExchangeSample& since) {
  if (all_told.inspected == 0) {
    all_told = since;
    all_told.violations.clear();
  } else {
    all_told.inspected += since.inspected;
    all_told.last_seen_at = since.last_seen_at;
    all_told.last = since.last;
    all_told.routing_key_fields_min =
        std::min(all_told.routing_key_fields_min, since.routing_key_fields_min);
    all_told.routing_key_fields_max =
        std::max(all_told.routing_key_fields_max, since.routing_key_fields_max);
    all_told.add_json_keys(since.json_keys);
  }
}

constexpr const char* kSampleColumns =
    "vhost, name, inspected, first_seen_at, last_seen_at, routing_key, content_type, "
    "delivery_mode, size, payload, json_keys, routing_key_fields_min, routing_key_fields_max";
constexpr const char* kViolationColumns =
    "vhost, name, kind, count, last_at, routing_key, content_type, delivery_mode, size, payload, "
    "mailed_at, mailed_count";

ExchangeSample sample_of(const SqlRow& row) {
  ExchangeSample sample;
  sample.exchange = ResourceKey{row.text(0), row.text(1)};
  sample.inspected = row.int64(2);
  sample.first_seen_at = row.text(3);
  sample.last_seen_at = row.text(4);
  sample.last = example_of(row, 5);
  sample.json_keys = json_keys_of(row.text(10));
  sample.routing_key_fields_min = row.int64(11);
  sample.routing_key_fields_max = row.int64(12);
  return sample;
}

ExchangeViolationRecord violation_of(const SqlRow& row) {
  std::string kind = row.text(2);
  std::optional<MessageViolation> parsed = violation_from_name(kind);
  if (!parsed) throw StoreError(fmt::format("unknown violation kind '{}'", printable(kind)));
  ExchangeViolationRecord violation;
  violation.kind = *parsed;
  violation.count = row.int64(3);
  violation.last_at = row.text(4);
  violation.example = example_of(row, 5);
  violation.mailed_at = row.text_or_empty(10);
  violation.mailed_count = row.int64(11);
  return violation;
}

// The violations of the samples, in kMessageViolations' order.
void sort_violations(ExchangeSample& sample) {
  auto rank = [](MessageViolation kind) {
    return std::find(kMessageViolations.begin(), kMessageViolations.end(), kind) -
           kMessageViolations.begin();
  };
  std::sort(sample.violations.begin(), sample.violations.end(),
            [&](const auto& a, const auto& b) { return rank(a.kind) < rank(b.kind); });
}

}  // namespace

void SqlStore::add_exchange_samples(const std::vector<ExchangeSample>& seen) {
  guarded("record the message samples", [&] {
    SqlTransaction txn(db(), SqlTransactionKind::write);
    for (const ExchangeSample& since : seen) {
      if (since.inspected <= 0) continue;
      const ResourceKey& key = since.exchange;
      ExchangeSample all_told;
      db().query(fmt::format("SELECT {} FROM exchange_samples WHERE vhost = ? AND name = ?",
                             kSampleColumns),
                 {key.vhost, key.name}, [&](const SqlRow& row) { all_told = sample_of(row); });
      merge(all_told, since);
      const MessageExample& last = all_told.last;
      db().exec(
          fmt::format("INSERT INTO exchange_samples ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                      "?, ?) ON CONFLICT (vhost, name) DO UPDATE SET "
                      "inspected = excluded.inspected, last_seen_at = excluded.last_seen_at, "
                      "routing_key = excluded.routing_key, content_type = excluded.content_type, "
                      "delivery_mode = excluded.delivery_mode, size = excluded.size, "
                      "payload = excluded.payload, json_keys = excluded.json_keys, "
                      "routing_key_fields_min = excluded.routing_key_fields_min, "
                      "routing_key_fields_max = excluded.routing_key_fields_max",
                      kSampleColumns),
          {key.vhost, key.name, all_told.inspected, all_told.first_seen_at, all_told.last_seen_at,
           bytes_param(last.routing_key), optional_bytes_param(last.content_type),
           SqlParam::optional(last.delivery_mode), last.size, bytes_param(last.payload),
           json_keys_text(all_told.json_keys), all_told.routing_key_fields_min,
           all_told.routing_key_fields_max});
      for (const ExchangeViolationRecord& violation : since.violations) {
        if (violation.count <= 0) continue;
        const MessageExample& example = violation.example;
        db().exec(
            "INSERT INTO exchange_violations (vhost, name, kind, count, last_at, routing_key, "
            "content_type, delivery_mode, size, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (vhost, name, kind) DO UPDATE SET "
            "count = exchange_violations.count + excluded.count, last_at = excluded.last_at, "
            "routing_key = excluded.routing_key, content_type = excluded.content_type, "
            "delivery_mode = excluded.delivery_mode, size = excluded.size, "
            "payload = excluded.payload",
            {key.vhost, key.name, std::string(violation_name(violation.kind)), violation.count,
             violation.last_at, bytes_param(example.routing_key),
             optional_bytes_param(example.content_type), SqlParam::optional(example.delivery_mode),
             example.size, bytes_param(example.payload)});
      }
    }
    txn.commit();
  });
}

std::vector<ExchangeSample> SqlStore::exchange_samples() {
  return guarded("read the message samples", [&] {
    SqlTransaction txn(db(), SqlTransactionKind::read);
    std::vector<ExchangeSample> samples;
    std::map<ResourceKey, std::size_t> index;
    db().query(fmt::format("SELECT {} FROM exchange_samples ORDER BY vhost, name", kSampleColumns),
               {}, [&](const SqlRow& row) {
                 samples.push_back(sample_of(row));
                 index[samples.back().exchange] = samples.size() - 1;
               });
    db().query(fmt::format("SELECT {} FROM exchange_violations", kViolationColumns), {},
               [&](const SqlRow& row) {
                 auto found = index.find(ResourceKey{row.text(0), row.text(1)});
                 if (found != index.end())
                   samples[found->second].violations.push_back(violation_of(row));
               });
    for (ExchangeSample& sample : samples) sort_violations(sample);
    txn.commit();
    return samples;
  });
}

std::optional<ExchangeSample> SqlStore::exchange_sample(const ResourceKey& exchange) {
  return guarded(
      fmt::format("read the message samples of exchange '{}'", printable(exchange.name)), [&] {
        SqlTransaction txn(db(), SqlTransactionKind::read);
        std::optional<ExchangeSample> sample;
        SqlParams key{exchange.vhost, exchange.name};
        db().query(fmt::format("SELECT {} FROM exchange_samples "
                               "WHERE vhost = ? AND name = ?",
                               kSampleColumns),
                   key, [&](const SqlRow& row) { sample = sample_of(row); });
        if (sample) {
          db().query(fmt::format("SELECT {} FROM exchange_violations "
                                 "WHERE vhost = ? AND name = ?",
                                 kViolationColumns),
                     key,
                     [&](const SqlRow& row) { sample->violations.push_back(violation_of(row)); });
          sort_violations(*sample);
        }
        txn.commit();
        return sample;
      });
}

std::vector<ExchangeSample> SqlStore::unmailed_violations() {
  return guarded("read the violations not yet mailed", [&] {
    std::vector<ExchangeSample> samples;
    db().query(
        "SELECT v.vhost, v.name, v.kind, v.count, v.last_at, v.routing_key, v.content_type, "
        "v.delivery_mode, v.size, v.payload, v.mailed_at, v.mailed_count, s.inspected "
        "FROM exchange_violations v JOIN exchange_samples s ON s.vhost = v.vhost AND s.name = "
        "v.name "
        "WHERE v.count > v.mailed_count ORDER BY v.vhost, v.name",
        {}, [&](const SqlRow& row) {
          ResourceKey key{row.text(0), row.text(1)};
          if (samples.empty() || samples.back().exchange != key) {
            samples.emplace_back();
            samples.back().exchange = key;
            samples.back().inspected = row.int64(12);
          }
          samples.back().violations.push_back(violation_of(row));
        });
    for (ExchangeSample& sample : samples) sort_violations(sample);
    return samples;
  });
}

bool SqlStore::record_violation_mail(const ResourceKey& exchange, MessageViolation kind,
                                     std::int64_t count, const std::string& mailed_at,
                                     const std::string& not_mailed_after,
                                     const std::vector<OutboxMail>& mails) {
  return guarded(fmt::format("record the {} mail of exchange '{}'", violation_name(kind),
                             printable(exchange.name)),
                 [&] {
                   SqlTransaction txn(db(), SqlTransactionKind::write);
                   std::int64_t changed = db().exec(
                       "UPDATE exchange_violations SET mailed_at = ?, mailed_count = ? "
                       "WHERE vhost = ? AND name = ? AND kind = ? "
                       "AND (mailed_at IS NULL OR mailed_at <= ?)",
                       {mailed_at, count, exchange.vhost, exchange.name,
                        std::string(violation_name(kind)), not_mailed_after});
                   if (changed == 0) return false;
                   put_outbox(mails);
                   txn.commit();
                   return true;
                 });
}

}  // namespace authsvc
