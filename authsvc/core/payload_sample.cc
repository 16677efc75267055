#include "authsvc/core/payload_sample.h"

#include "authsvc/core/text.h"

namespace authsvc {
namespace {

char32_t code_point(std::string_view sequence) {
  auto byte = [&](std::size_t i) {
    return static_cast<char32_t>(static_cast<unsigned char>(sequence[i]));
  };
  switch (sequence.size()) {
    case 1:
      return byte(0);
    case 2:
      return (byte(0) & 0x1F) << 6 | (byte(1) & 0x3F);
    case 3:
      return (byte(0) & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F);
    default:
      return (byte(0) & 0x07) << 18 | (byte(1) & 0x3F) << 12 | (byte(2) & 0x3F) << 6 |
             (byte(3) & 0x3F);
  }
}

// What may change how the text around it reads.
bool hides_or_reorders(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) || c == 0x061C || c == 0x200E || c == 0x200F ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029;
}

void append_byte_escape(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHexDigitsLower[c >> 4];
  out += kHexDigitsLower[c & 15];
}

}  // namespace

std::string escaped_sample(std::string_view bytes, std::size_t max_bytes) {
  std::string out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    Utf8Sequence sequence = utf8_sequence(bytes.substr(at));
    std::size_t length = sequence.valid ? sequence.length : 1;
    if (at + length > max_bytes) break;
    std::string_view piece = bytes.substr(at, length);
    if (!sequence.valid) {
      append_byte_escape(out, static_cast<unsigned char>(piece[0]));
    } else if (length == 1) {
      auto c = static_cast<unsigned char>(piece[0]);
      if (c == '\\') {
        out += "\\\\";
      } else if (is_control(c)) {
        append_byte_escape(out, c);
      } else {
        out += piece;
      }
    } else if (char32_t c = code_point(piece); hides_or_reorders(c)) {
      // Four hex digits: every such code point is below U+10000.
      out += "\\u{";
      for (int shift = 12; shift >= 0; shift -= 4) out += kHexDigitsUpper[(c >> shift) & 15];
      out += '}';
    } else {
      out += piece;
    }
    at += length;
  }
  if (at < bytes.size()) {
    out += " ... (" + std::to_string(bytes.size() - at) + " more bytes)";
  }
  return out;
}

}  // namespace authsvc
