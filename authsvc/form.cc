#include "authsvc/form.h"

#include <algorithm>

namespace authsvc {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode_component(std::string_view in, std::string* out, std::string* error) {
  out->clear();
  out->reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out->push_back(' ');
    } else if (c == '%') {
      int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        *error = "malformed percent escape";
        return false;
      }
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

}  // namespace

std::optional<Form> Form::decode(std::string_view text, std::string* error) {
  Form form;
  if (text.empty()) return form;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view field = text.substr(start, end - start);
    std::size_t eq = field.find('=');
    std::string field_number = std::to_string(form.fields_.size() + 1);
    if (field.empty() || eq == std::string_view::npos || eq == 0) {
      *error = (field.empty() ? "empty form field" : "form field without a name or '='") +
               std::string(" in field ") + field_number;
      return std::nullopt;
    }
    FormField decoded;
    if (!decode_component(field.substr(0, eq), &decoded.key, error) ||
        !decode_component(field.substr(eq + 1), &decoded.value, error)) {
      *error += " in field " + field_number;
      return std::nullopt;
    }
    form.fields_.push_back(std::move(decoded));
    start = end + 1;
  }
  return form;
}

const std::string* Form::find(std::string_view key) const {
  auto it = std::find_if(fields_.begin(), fields_.end(),
                         [&](const FormField& f) { return f.key == key; });
  return it == fields_.end() ? nullptr : &it->value;
}

std::size_t Form::count(std::string_view key) const {
  return static_cast<std::size_t>(std::count_if(fields_.begin(), fields_.end(),
                                                [&](const FormField& f) { return f.key == key; }));
}

}  // namespace authsvc
