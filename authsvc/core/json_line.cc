#include "authsvc/core/json_line.h"

#include <charconv>

#include "authsvc/core/text.h"

namespace authsvc {
void append_json_string(std::string_view value, std::string* out) {
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
          out->push_back(kHexDigitsLower[c >> 4]);
          out->push_back(kHexDigitsLower[c & 0xF]);
        } else {
          Utf8Sequence sequence = utf8_sequence(value.substr(i));
          if (sequence.valid) {
            out->append(value.data() + i, sequence.length);
          } else {
            *out += "\xEF\xBF\xBD";  // U+FFFD
          }
          i += sequence.length;
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
