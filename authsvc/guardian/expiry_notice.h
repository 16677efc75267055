#pragma once
// When the guardian tells an account's owners that it expires: at each of
// the leads before the expiry (`--expiry-notice`, by default 7 and 1 day),
// each notice once, across restarts (the store keeps the lead of the last
// one sent for an expiry time; a new expiry time starts over).
//
// A notice whose time has come is sent even if the next one's has come too
// (an account set to expire in 12 hours is due both the 7-day and the
// 1-day notice): then only the later-due one, the shortest lead, goes, so
// that owners get one mail that says how long is really left.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

// The defaults of --expiry-notice.
std::vector<std::chrono::seconds> default_expiry_notice_leads();

// "7d,1d": one or more durations (core/duration.h) above zero, comma
// separated, no spaces; returned longest first, each once. nullopt and
// `error` set to one line for anything else.
std::optional<std::vector<std::chrono::seconds>> parse_expiry_notice_leads(std::string_view text,
                                                                           std::string* error);

// The lead of the notice due at `now` about an expiry at `expires_at`:
// among `leads` whose time has come (now >= expires_at - lead), the
// shortest, unless a notice with that lead or a shorter one went already
// (`last_sent`, nullopt: none). nullopt when none is due, and once the
// account has expired (it is closed then, not warned).
std::optional<std::chrono::seconds> due_expiry_notice(
    std::chrono::system_clock::time_point expires_at,
    const std::vector<std::chrono::seconds>& leads, std::optional<std::chrono::seconds> last_sent,
    std::chrono::system_clock::time_point now);

}  // namespace authsvc
