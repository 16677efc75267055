#pragma once
// Small facts about bytes that several modules need, written once: hex
// digits, control characters, UTF-8.

#include <cstddef>
#include <string>
#include <string_view>

namespace authsvc {

inline constexpr std::string_view kHexDigitsLower = "0123456789abcdef";
inline constexpr std::string_view kHexDigitsUpper = "0123456789ABCDEF";

// 0-15 for '0'-'9', 'a'-'f', 'A'-'F'; -1 for anything else.
int hex_digit_value(char c);

// Two hex digits a byte.
std::string hex_encode(std::string_view bytes, std::string_view digits = kHexDigitsLower);

// The C0 controls and DEL: what may not appear in a header, a log field
// meant for one line, or a name the broker shows.
constexpr bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }
bool has_control(std::string_view text);
// `text` with each control character written as \xNN (and each backslash
// as \\), for quoting a value someone gave in a one-line message.
std::string printable(std::string_view text);

// The UTF-8 sequence at the start of `text` (not empty): its `length` if
// `valid`; if not, how many bytes to replace with one U+FFFD (the lead byte
// and the continuation bytes that still fit it, as Unicode's "maximal
// subpart" practice and nlohmann::json do), so the next byte is looked at
// afresh. Overlong forms, surrogates and code points past U+10FFFF are
// invalid.
struct Utf8Sequence {
  std::size_t length;
  bool valid;
};
Utf8Sequence utf8_sequence(std::string_view text);

bool is_valid_utf8(std::string_view text);

// `text` with A-Z as a-z and every other byte as it is: how e-mail
// addresses are compared (RFC 5321 lets a server tell local parts apart by
// case; none that Pulse's users have does).
std::string ascii_lower(std::string_view text);

// `text` without the spaces and tabs at either end (HTTP's optional
// whitespace, a CSV field's padding).
std::string_view trim_blanks(std::string_view text);

}  // namespace authsvc
