#include "authsvc/core/form.h"

#include "authsvc/core/text.h"

namespace authsvc {
namespace {

// Decodes `in` to `out` (which has room for in.size() bytes); returns the
// decoded length, or npos with *error set.
std::size_t decode_component(std::string_view in, char* out, std::string* error) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out[n++] = ' ';
    } else if (c == '%') {
      int hi = i + 1 < in.size() ? hex_digit_value(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hex_digit_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        *error = "malformed percent escape";
        return std::string_view::npos;
      }
      out[n++] = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return n;
}

}  // namespace

std::optional<Form> Form::decode(std::string_view text, std::string* error) {
  Form form;
  if (text.empty()) return form;
  // Decoding never lengthens: the text's size is room enough for all of it.
  form.decoded_ = std::make_unique<char[]>(text.size());
  form.fields_.reserve(12);
  char* out = form.decoded_.get();
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view field = text.substr(start, end - start);
    std::size_t eq = field.find('=');
    if (field.empty() || eq == std::string_view::npos || eq == 0) {
      *error = (field.empty() ? "empty form field" : "form field without a name or '='") +
               std::string(" in field ") + std::to_string(form.fields_.size() + 1);
      return std::nullopt;
    }
    std::size_t key_length = decode_component(field.substr(0, eq), out, error);
    std::size_t value_length =
        key_length == std::string_view::npos
            ? key_length
            : decode_component(field.substr(eq + 1), out + key_length, error);
    if (value_length == std::string_view::npos) {
      *error += " in field " + std::to_string(form.fields_.size() + 1);
      return std::nullopt;
    }
    form.fields_.push_back(FormField{std::string_view(out, key_length),
                                     std::string_view(out + key_length, value_length)});
    out += key_length + value_length;
    start = end + 1;
  }
  return form;
}

const std::string_view* Form::find(std::string_view key) const {
  for (const FormField& f : fields_) {
    if (f.key == key) return &f.value;
  }
  return nullptr;
}

std::size_t Form::count(std::string_view key) const {
  std::size_t n = 0;
  for (const FormField& f : fields_) n += f.key == key;
  return n;
}

std::string path_segment(std::string_view value) {
  if (value == ".") return "%2E";
  if (value == "..") return "%2E%2E";
  return form_encoded(value);
}

std::string form_encoded(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHexDigitsUpper[c >> 4];
      out += kHexDigitsUpper[c & 15];
    }
  }
  return out;
}

}  // namespace authsvc
