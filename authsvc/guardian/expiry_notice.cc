#include "authsvc/guardian/expiry_notice.h"

#include <algorithm>
#include <functional>

#include "authsvc/core/duration.h"

namespace authsvc {

using std::chrono::seconds;

std::vector<seconds> default_expiry_notice_leads() {
  return {std::chrono::days(7), std::chrono::days(1)};
}

std::optional<std::vector<seconds>> parse_expiry_notice_leads(std::string_view text,
                                                              std::string* error) {
  std::vector<seconds> leads;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::optional<seconds> lead = parse_duration(item);
    if (!lead || lead->count() == 0) {
      *error = "--expiry-notice: '" + std::string(item) +
               "' is not a duration above zero such as 7d, 12h, 30m or 90s (give a comma "
               "separated list, e.g. 7d,1d)";
      return std::nullopt;
    }
    leads.push_back(*lead);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(leads.begin(), leads.end(), std::greater<>());
  leads.erase(std::unique(leads.begin(), leads.end()), leads.end());
  return leads;
}

std::optional<seconds> due_expiry_notice(std::chrono::system_clock::time_point expires_at,
                                         const std::vector<seconds>& leads,
                                         std::optional<seconds> last_sent,
                                         std::chrono::system_clock::time_point now) {
  if (now >= expires_at) return std::nullopt;
  std::optional<seconds> due;
  for (seconds lead : leads) {
    if (now >= expires_at - lead && (!due || lead < *due)) due = lead;
  }
  if (!due || (last_sent && *last_sent <= *due)) return std::nullopt;
  return due;
}

}  // namespace authsvc
