#include "authsvc/import/owners_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "authsvc/core/names.h"
#include "authsvc/core/text.h"
#include "authsvc/store/store.h"
#include "authsvc/store/validation.h"

namespace authsvc {
namespace {

// The fields of one CSV line, or nullopt with *error set.
std::optional<std::vector<std::string>> fields_of(std::string_view line, std::string* error) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  while (true) {
    std::string field;
    std::size_t end = line.find(',', i);
    std::string_view raw =
        trim_blanks(line.substr(i, end == std::string_view::npos ? end : end - i));
    if (!raw.empty() && raw.front() == '"') {
      // A quoted field: it may hold commas, so it is read to its closing quote.
      std::size_t start = line.find('"', i) + 1;
      std::size_t j = start;
      bool closed = false;
      while (j < line.size()) {
        if (line[j] == '"') {
          if (j + 1 < line.size() && line[j + 1] == '"') {
            field += '"';
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        field += line[j++];
      }
      if (!closed) {
        *error = "a quoted field has no closing quote";
        return std::nullopt;
      }
      std::size_t next = line.find_first_not_of(" \t", j);
      if (next != std::string_view::npos && line[next] != ',') {
        *error = "text after a quoted field's closing quote";
        return std::nullopt;
      }
      fields.push_back(std::move(field));
      if (next == std::string_view::npos) return fields;
      i = next + 1;
      continue;
    }
    if (raw.find('"') != std::string_view::npos) {
      *error = "a quote inside an unquoted field";
      return std::nullopt;
    }
    fields.emplace_back(raw);
    if (end == std::string_view::npos) return fields;
    i = end + 1;
  }
}

bool is_header(const std::vector<std::string>& fields) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  return fields.size() == 2 && lower(fields[0]) == "account" && lower(fields[1]) == "email";
}

}  // namespace

OwnersFile parse_owners_csv(std::string_view text) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  OwnersFile file;
  std::size_t number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim_blanks(line).empty()) continue;
    auto error = [&](const std::string& reason) {
      file.errors.push_back(OwnersError{number, reason});
    };
    std::string reason;
    std::optional<std::vector<std::string>> fields = fields_of(line, &reason);
    if (!fields) {
      error(reason);
      continue;
    }
    if (number == 1 && is_header(*fields)) continue;
    if (fields->size() != 2) {
      error(fmt::format("expected 2 columns, account,email; found {}", fields->size()));
      continue;
    }
    const std::string& account = (*fields)[0];
    const std::string& address = (*fields)[1];
    if (account.empty() || address.empty()) {
      error(account.empty() ? "the account column is empty" : "the email column is empty");
      continue;
    }
    if (std::string problem = user_name_problem(account); !problem.empty()) {
      error(fmt::format("invalid account name '{}': {}", printable(account), problem));
      continue;
    }
    try {
      check_owner_address(address);
    } catch (const StoreError& e) {
      error(e.what());
      continue;
    }
    file.grants.push_back(OwnerLine{number, OwnerGrant{account, address}});
  }
  return file;
}

void check_owner_accounts(OwnersFile& file, const std::function<bool(const std::string&)>& exists) {
  for (const OwnerLine& line : file.grants) {
    if (!exists(line.grant.user)) {
      file.errors.push_back(
          OwnersError{line.line, fmt::format("no such account '{}' in authsvc", line.grant.user)});
    }
  }
  std::stable_sort(file.errors.begin(), file.errors.end(),
                   [](const OwnersError& a, const OwnersError& b) { return a.line < b.line; });
}

}  // namespace authsvc
