#include "authsvc/json_line.h"

#include <charconv>

namespace authsvc {
namespace {

// How many bytes at the start of `s` (not empty, not ASCII) form one
// UTF-8 sequence, or, when they do not (*valid false), how many to replace
// with one U+FFFD: the lead byte and the continuation bytes that still fit
// it, as nlohmann's decoder does, so the next byte is looked at afresh.
std::size_t utf8_sequence(std::string_view s, bool* valid) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  std::size_t continuations = 0;
  unsigned char low = 0x80, high = 0xBF;  // range of the first continuation byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuations = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuations = 2;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuations = 3;
    if (lead == 0xF0) low = 0x90;   // no overlong forms
    if (lead == 0xF4) high = 0x8F;  // nothing beyond U+10FFFF
  } else {
    *valid = false;
    return 1;
  }
  for (std::size_t k = 1; k <= continuations; ++k) {
    bool fits =
        k < s.size() && byte(k) >= (k == 1 ? low : 0x80) && byte(k) <= (k == 1 ? high : 0xBF);
    if (!fits) {
      *valid = false;
      return k;
    }
  }
  *valid = true;
  return continuations + 1;
}

}  // namespace

void append_json_string(std::string_view value, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t i = 0;
  while (i < value.size()) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      // Copy the run of plain ASCII at once.
      std::size_t end = i + 1;
      while (end < value.size()) {
        unsigned char d = static_cast<unsigned char>(value[end]);
        if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
        ++end;
      }
      out->append(value.data() + i, end - i);
      i = end;
      continue;
    }
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          bool valid = false;
          std::size_t n = utf8_sequence(value.substr(i), &valid);
          if (valid) {
            out->append(value.data() + i, n);
          } else {
            *out += "\xEF\xBF\xBD";  // U+FFFD
          }
          i += n;
          continue;
        }
    }
    ++i;
  }
  out->push_back('"');
}

void JsonLine::key(std::string_view k) {
  if (text_.size() > 1) text_ += ',';
  append_json_string(k, &text_);
  text_ += ':';
}

JsonLine& JsonLine::add(std::string_view k, std::string_view value) {
  key(k);
  append_json_string(value, &text_);
  return *this;
}

JsonLine& JsonLine::add(std::string_view k, std::int64_t value) {
  key(k);
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  text_.append(digits, static_cast<std::size_t>(end - digits));
  return *this;
}

JsonLine& JsonLine::add(std::string_view k, bool value) {
  key(k);
  text_ += value ? "true" : "false";
  return *this;
}

}  // namespace authsvc
