// libFuzzer target: the rules parser on arbitrary text. It must never crash;
// a refusal names the source and line; accepted rules can be matched
// against names without crashing, and a pattern with placeholders matches
// exactly when the RE2::QuoteMeta substitution does.
#include <re2/re2.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "authsvc/core/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The text up to the first NUL is the rules file; what follows is a name.
  std::size_t nul = input.find('\0');
  std::string_view text = input.substr(0, nul);
  std::string_view name =
      nul == std::string_view::npos ? "exchange/alice/x" : input.substr(nul + 1);
  std::string error;
  std::optional<authsvc::Rules> rules = authsvc::Rules::parse(text, "fuzz.rules", &error);
  if (!rules) {
    if (error.rfind("fuzz.rules:", 0) != 0) std::abort();
    return 0;
  }
  authsvc::PatternValues values{"alice", "/"};
  for (const authsvc::Rule& rule : rules->rules()) {
    bool ours = rule.pattern.matches(name, values);
    std::string substituted;
    std::string_view pattern = rule.pattern.text();
    for (std::size_t i = 0; i < pattern.size();) {
      if (pattern.substr(i, 6) == "{user}") {
        substituted += RE2::QuoteMeta("alice");
        i += 6;
      } else if (pattern.substr(i, 7) == "{vhost}") {
        substituted += RE2::QuoteMeta("/");
        i += 7;
      } else {
        substituted += pattern[i++];
      }
    }
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingLatin1);
    options.set_log_errors(false);
    RE2 reference(substituted, options);
    if (reference.ok() &&
        ours != RE2::FullMatch(re2::StringPiece(name.data(), name.size()), reference)) {
      std::abort();
    }
  }
  return 0;
}
