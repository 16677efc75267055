// libFuzzer target: Form::decode on arbitrary bytes. It must never crash,
// and what it accepts must round-trip: re-encoding the decoded fields and
// decoding again gives the same fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "authsvc/core/form.h"
#include "authsvc/core/text.h"

namespace {

std::string encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '_' || c == '~' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += authsvc::kHexDigitsUpper[c >> 4];
      out += authsvc::kHexDigitsUpper[c & 0xF];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  std::optional<authsvc::Form> form = authsvc::Form::decode(text, &error);
  if (!form) {
    if (error.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  std::string again;
  for (const authsvc::FormField& f : form->fields()) {
    if (!again.empty()) again += '&';
    again += encode(f.key) + "=" + encode(f.value);
  }
  std::optional<authsvc::Form> second = authsvc::Form::decode(again, &error);
  if (!second || second->fields().size() != form->fields().size()) std::abort();
  for (std::size_t i = 0; i < form->fields().size(); ++i) {
    if (second->fields()[i].key != form->fields()[i].key ||
        second->fields()[i].value != form->fields()[i].value) {
      std::abort();
    }
  }
  return 0;
}
