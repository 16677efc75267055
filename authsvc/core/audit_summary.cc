#include "authsvc/core/audit_summary.h"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <vector>

#include "authsvc/core/text.h"

namespace authsvc {
namespace {

void append_field(std::string_view text, std::string* key) {
  auto size = static_cast<std::uint32_t>(text.size());
  key->append(reinterpret_cast<const char*>(&size), sizeof size);
  key->append(text);
}

std::string_view take_field(std::string_view* key) {
  std::uint32_t size = 0;
  std::memcpy(&size, key->data(), sizeof size);
  std::string_view field = key->substr(sizeof size, size);
  key->remove_prefix(sizeof size + size);
  return field;
}

struct Row {
  std::string node;
  std::string user;
  std::string rule;
  std::string decision;
  std::uint64_t count;
};

std::string shown(std::string_view text) { return text.empty() ? "-" : printable(text); }

void append_padded(std::string_view text, std::size_t width, std::string* out) {
  out->append(text);
  out->append(width - text.size(), ' ');
}

}  // namespace

void AuditSummary::add(const AuditLineView& line) {
  ++lines_;
  key_.clear();
  append_field(line.node.escaped ? std::string_view(line.node.value()) : line.node.raw, &key_);
  append_field(line.user.escaped ? std::string_view(line.user.value()) : line.user.raw, &key_);
  append_field(line.rule.escaped ? std::string_view(line.rule.value()) : line.rule.raw, &key_);
  key_.push_back(static_cast<char>(line.decision));
  auto found = counts_.find(key_);
  if (found != counts_.end()) {
    ++found->second;
  } else {
    counts_.emplace(key_, 1);
  }
}

std::string AuditSummary::table() const {
  std::vector<Row> rows;
  rows.reserve(counts_.size());
  for (const auto& [key, count] : counts_) {
    std::string_view rest = key;
    std::string node = shown(take_field(&rest));
    std::string user = shown(take_field(&rest));
    std::string rule = shown(take_field(&rest));
    auto decision = static_cast<AuditDecision>(rest[0]);
    rows.push_back(Row{std::move(node), std::move(user), std::move(rule),
                       std::string(to_string(decision)), count});
  }
  // One node's log (the common case) reads as it did before nodes had
  // names: the column would say the same on every row.
  const bool by_node = std::any_of(rows.begin(), rows.end(),
                                   [&](const Row& row) { return row.node != rows.front().node; });
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(b.count, a.node, a.user, a.rule, a.decision) <
           std::tie(a.count, b.node, b.user, b.rule, b.decision);
  });
  rows.push_back(Row{"(total)", "(total)", "", "", lines_});
  if (by_node) rows.back().user = "";

  Row header{"NODE", "USER", "RULE", "DECISION", 0};
  std::size_t node_width = header.node.size();
  std::size_t user_width = header.user.size();
  std::size_t rule_width = header.rule.size();
  std::size_t decision_width = header.decision.size();
  std::size_t count_width = std::string_view("COUNT").size();
  for (const Row& row : rows) {
    node_width = std::max(node_width, row.node.size());
    user_width = std::max(user_width, row.user.size());
    rule_width = std::max(rule_width, row.rule.size());
    decision_width = std::max(decision_width, row.decision.size());
    count_width = std::max(count_width, std::to_string(row.count).size());
  }
  std::string out;
  auto line = [&](const Row& row, std::string_view count) {
    if (by_node) append_padded(row.node, node_width + 2, &out);
    append_padded(row.user, user_width + 2, &out);
    append_padded(row.rule, rule_width + 2, &out);
    append_padded(row.decision, decision_width + 2, &out);
    out.append(count_width - count.size(), ' ');
    out.append(count);
    out.push_back('\n');
  };
  line(header, "COUNT");
  for (const Row& row : rows) line(row, std::to_string(row.count));
  return out;
}

}  // namespace authsvc
