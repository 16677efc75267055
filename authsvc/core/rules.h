#pragma once
// The policy: an ordered list of rules, first match wins, no match denies.
//
// A rules file has one rule a line; blank lines and lines starting with '#'
// are ignored:
//
//   NAME  EFFECT  RESOURCES  PERMISSIONS  PATTERN
//   own-exchange  allow  exchange  configure,write,read  exchange/{user}/.+
//
//   NAME         [A-Za-z0-9._-]+, unique; audit lines name the rule that decided.
//   EFFECT       allow | deny
//   RESOURCES    exchange, queue, topic, a comma list of them, or *
//   PERMISSIONS  configure, write, read, a comma list of them, or *
//   PATTERN      the rest of the line: an RE2 regex that must match the whole
//                resource name (for topic checks: the exchange's name).
//
// {user} and {vhost} in a pattern stand for the requesting user's name and
// the vhost, taken literally, byte for byte: a user named "a.b" matches only
// "a.b", never "aXb". The result is exactly that of substituting
// RE2::QuoteMeta(value) into the pattern, but no regex is compiled per user
// or per request: a pattern is compiled once, as the regex pieces between
// its placeholders, and a name matches if it can be cut so that every piece
// matches its part and every placeholder equals its value. So placeholders
// must stand at the top level of the pattern (not inside a group or before
// a quantifier); a pattern where they do not is an error.
//
// Matching is on bytes (RE2's Latin-1 mode): any name, valid UTF-8 or not,
// is compared as the broker sent it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authsvc/core/auth_request.h"

namespace re2 {
class RE2;
}

namespace authsvc {

enum class Effect { allow, deny };

// The values placeholders stand for in one request.
struct PatternValues {
  std::string_view user;
  std::string_view vhost;
};

class Pattern {
 public:
  // nullopt with *error set when the text is not a valid pattern.
  static std::optional<Pattern> compile(std::string_view text, std::string* error);
  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;
  ~Pattern();

  bool matches(std::string_view name, const PatternValues& values) const;
  const std::string& text() const { return text_; }

 private:
  enum class Placeholder { user, vhost };
  Pattern() = default;
  bool matches_from(std::size_t piece, std::string_view rest, const PatternValues& values) const;

  std::string text_;
  // pieces_[i] precedes placeholders_[i]; one more piece than placeholders.
  // A null piece stands for the empty regex.
  std::vector<std::unique_ptr<re2::RE2>> pieces_;
  std::vector<Placeholder> placeholders_;
};

struct Rule {
  std::string name;
  int line = 0;
  Effect effect = Effect::deny;
  std::uint8_t resources = 0;    // bit (1 << ResourceKind)
  std::uint8_t permissions = 0;  // bit (1 << Permission)
  Pattern pattern;
  // For audit lines: "allowed by rule NAME (line N)" or "denied by ...".
  std::string reason;

  bool applies_to(ResourceKind r, Permission p) const {
    return (resources & (1u << static_cast<int>(r))) && (permissions & (1u << static_cast<int>(p)));
  }
};

class Rules {
 public:
  // Parses a rules file's text. `source` names it in errors, which read
  // "SOURCE:LINE: reason".
  static std::optional<Rules> parse(std::string_view text, std::string_view source,
                                    std::string* error);
  // The compiled-in rules/pulse.rules.
  static Rules pulse_default();

  // The first rule that applies and matches, or nullptr: the default deny.
  const Rule* first_match(ResourceKind resource, Permission permission, std::string_view name,
                          const PatternValues& values) const;
  const std::vector<Rule>& rules() const { return rules_; }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::vector<Rule> rules_;
};

}  // namespace authsvc
