#include "authsvc/web/path_segment.h"

#include "authsvc/core/text.h"

namespace authsvc {
namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void append_escaped(std::string& out, unsigned char c) {
  out += '%';
  out += kHexDigitsUpper[c >> 4];
  out += kHexDigitsUpper[c & 15];
}

}  // namespace

std::string path_segment(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool dots_only = value == "." || value == "..";
  for (unsigned char c : value) {
    if (unreserved(c) && !dots_only) {
      out += static_cast<char>(c);
    } else {
      append_escaped(out, c);
    }
  }
  return out;
}

}  // namespace authsvc
