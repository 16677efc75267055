#include "authsvc/core/rules.h"

#include <re2/re2.h>

#include <array>
#include <set>
#include <stdexcept>

#include "authsvc/core/embedded_file.h"

namespace authsvc {
namespace {

constexpr std::string_view kUserPlaceholder = "{user}";
constexpr std::string_view kVhostPlaceholder = "{vhost}";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits off the next whitespace-separated word of *line.
std::string_view next_word(std::string_view* line) {
  std::string_view s = trim(*line);
  std::size_t end = 0;
  while (end < s.size() && !is_space(s[end])) ++end;
  *line = s.substr(end);
  return s.substr(0, end);
}

bool is_rule_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Parses "a,b,c" or "*" against the words of an enum, into a bit set.
template <typename Enum, std::size_t N>
std::optional<std::uint8_t> parse_set(std::string_view text,
                                      std::optional<Enum> (*from_string)(std::string_view),
                                      const char* what, std::string* error) {
  if (text == "*") return static_cast<std::uint8_t>((1u << N) - 1);
  std::uint8_t bits = 0;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view word = text.substr(0, comma);
    std::optional<Enum> value = from_string(word);
    if (!value) {
      *error = "unknown " + std::string(what) + " '" + std::string(word) + "'";
      return std::nullopt;
    }
    bits = static_cast<std::uint8_t>(bits | (1u << static_cast<int>(*value)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) {
      *error = std::string("empty ") + what + " in list";
      return std::nullopt;
    }
  }
  return bits;
}

std::unique_ptr<re2::RE2> compile_piece(std::string_view text, std::string* error) {
  if (text.empty()) return nullptr;
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(re2::StringPiece(text.data(), text.size()), options);
  if (!re->ok()) {
    *error = re->error();
    return nullptr;
  }
  return re;
}

// Why a piece of a pattern with placeholders cannot be matched on its own
// with the same meaning it has in the substituted whole; empty if it can.
// Matching the pieces separately is only equivalent to matching the
// substituted pattern when nothing in a piece depends on the text around
// it: no top-level '|' (it would span the placeholder), no anchors or word
// boundaries away from the pattern's ends, no flags that leak past the
// piece, and no quantifier applied to a placeholder.
std::string placeholder_piece_problem(std::string_view piece, bool first, bool last) {
  if (!first && !piece.empty() &&
      (piece[0] == '*' || piece[0] == '+' || piece[0] == '?' || piece[0] == '{')) {
    return "a placeholder cannot be repeated by a quantifier";
  }
  int depth = 0;
  for (std::size_t i = 0; i < piece.size(); ++i) {
    char c = piece[i];
    if (c == '\\') {
      char next = i + 1 < piece.size() ? piece[i + 1] : '\0';
      if (next == 'b' || next == 'B' || next == 'A' || next == 'z') {
        return std::string("'\\") + next + "' cannot be used in a pattern with placeholders";
      }
      if (next == 'Q') {  // \Q...\E is literal text
        std::size_t end = piece.find("\\E", i + 2);
        i = end == std::string_view::npos ? piece.size() : end + 1;
        continue;
      }
      ++i;
    } else if (c == '[') {
      // Skip the class; a ']' first (after an optional '^') is literal.
      std::size_t j = i + 1;
      if (j < piece.size() && piece[j] == '^') ++j;
      if (j < piece.size() && piece[j] == ']') ++j;
      while (j < piece.size() && piece[j] != ']') j += piece[j] == '\\' ? 2 : 1;
      i = j;
    } else if (c == '(') {
      if (i + 2 < piece.size() && piece[i + 1] == '?' && piece[i + 2] != ':' &&
          piece[i + 2] != 'P' && piece[i + 2] != '<') {
        std::size_t close = piece.find_first_of(":)", i + 2);
        if (close != std::string_view::npos && piece[close] == ')') {
          return "flags like (?i) cannot be used in a pattern with placeholders; "
                 "scope them as (?i:...)";
        }
      }
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      return "a top-level '|' cannot be used in a pattern with placeholders; "
             "write one rule for each alternative";
    } else if (c == '^' && !(first && i == 0)) {
      return "'^' can only start a pattern with placeholders";
    } else if (c == '$' && !(last && i + 1 == piece.size())) {
      return "'$' can only end a pattern with placeholders";
    }
  }
  return {};
}

bool piece_matches(const std::unique_ptr<re2::RE2>& piece, std::string_view text) {
  if (!piece) return text.empty();
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *piece);
}

}  // namespace

Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;
Pattern::~Pattern() = default;

std::optional<Pattern> Pattern::compile(std::string_view text, std::string* error) {
  Pattern pattern;
  pattern.text_ = std::string(text);
  std::string_view rest = text;
  while (true) {
    std::size_t user_at = rest.find(kUserPlaceholder);
    std::size_t vhost_at = rest.find(kVhostPlaceholder);
    std::size_t at = std::min(user_at, vhost_at);
    std::string_view piece = rest.substr(0, at);
    std::string piece_error;
    auto compiled = compile_piece(piece, &piece_error);
    if (!piece_error.empty()) {
      *error = "invalid pattern '" + std::string(text) + "': " + piece_error +
               (pattern.placeholders_.empty() && at == std::string_view::npos
                    ? ""
                    : " (placeholders must stand outside groups and quantifiers)");
      return std::nullopt;
    }
    bool first = pattern.pieces_.empty();
    bool last = at == std::string_view::npos;
    if (!(first && last)) {
      std::string problem = placeholder_piece_problem(piece, first, last);
      if (!problem.empty()) {
        *error = "invalid pattern '" + std::string(text) + "': " + problem;
        return std::nullopt;
      }
    }
    pattern.pieces_.push_back(std::move(compiled));
    if (last) break;
    bool is_user = at == user_at;
    pattern.placeholders_.push_back(is_user ? Placeholder::user : Placeholder::vhost);
    rest.remove_prefix(at + (is_user ? kUserPlaceholder : kVhostPlaceholder).size());
  }
  // A brace word that is not one of ours is almost surely a typo for one.
  for (std::size_t open = text.find('{'); open != std::string_view::npos;
       open = text.find('{', open + 1)) {
    std::size_t close = text.find('}', open);
    if (close == std::string_view::npos) break;
    std::string_view word = text.substr(open + 1, close - open - 1);
    bool is_letters = !word.empty();
    for (char c : word) {
      is_letters = is_letters && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_');
    }
    if (is_letters && word != "user" && word != "vhost") {
      *error = "unknown placeholder '{" + std::string(word) + "}' (known: {user}, {vhost})";
      return std::nullopt;
    }
  }
  return pattern;
}

bool Pattern::matches(std::string_view name, const PatternValues& values) const {
  return matches_from(0, name, values);
}

bool Pattern::matches_from(std::size_t piece, std::string_view rest,
                           const PatternValues& values) const {
  if (piece == placeholders_.size()) return piece_matches(pieces_[piece], rest);
  std::string_view value = placeholders_[piece] == Placeholder::user ? values.user : values.vhost;
  // Try every place the value occurs: the piece before it must match all
  // that precedes, and the rest of the pattern all that follows.
  for (std::size_t at = rest.find(value); at != std::string_view::npos;
       at = rest.find(value, at + 1)) {
    if (piece_matches(pieces_[piece], rest.substr(0, at)) &&
        matches_from(piece + 1, rest.substr(at + value.size()), values)) {
      return true;
    }
  }
  return false;
}

std::optional<Rules> Rules::parse(std::string_view text, std::string_view source,
                                  std::string* error) {
  Rules rules;
  rules.source_ = std::string(source);
  std::set<std::string, std::less<>> names;
  int line_number = 0;
  while (!text.empty() || line_number == 0) {
    ++line_number;
    std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    auto fail = [&](const std::string& reason) {
      *error = rules.source_ + ":" + std::to_string(line_number) + ": " + reason;
      return std::nullopt;
    };

    std::string_view rest = trim(line);
    if (rest.empty() || rest.front() == '#') continue;
    std::string_view name = next_word(&rest);
    std::string_view effect = next_word(&rest);
    std::string_view resources = next_word(&rest);
    std::string_view permissions = next_word(&rest);
    std::string_view pattern = trim(rest);
    if (pattern.empty()) {
      return fail("expected NAME EFFECT RESOURCES PERMISSIONS PATTERN");
    }
    if (!is_rule_name(name)) return fail("invalid rule name '" + std::string(name) + "'");
    if (!names.insert(std::string(name)).second) {
      return fail("duplicate rule name '" + std::string(name) + "'");
    }
    Effect parsed_effect = Effect::deny;
    if (effect == "allow") {
      parsed_effect = Effect::allow;
    } else if (effect != "deny") {
      return fail("effect must be allow or deny, not '" + std::string(effect) + "'");
    }
    std::string reason;
    auto resource_bits =
        parse_set<ResourceKind, 3>(resources, resource_kind_from_string, "resource", &reason);
    if (!resource_bits) return fail(reason);
    auto permission_bits =
        parse_set<Permission, 3>(permissions, permission_from_string, "permission", &reason);
    if (!permission_bits) return fail(reason);
    auto compiled = Pattern::compile(pattern, &reason);
    if (!compiled) return fail(reason);
    std::string rule_reason =
        (parsed_effect == Effect::allow ? "allowed by rule " : "denied by rule ") +
        std::string(name) + " (line " + std::to_string(line_number) + ")";
    rules.rules_.push_back(Rule{std::string(name), line_number, parsed_effect, *resource_bits,
                                *permission_bits, std::move(*compiled), std::move(rule_reason)});
    if (newline == std::string_view::npos) break;
  }
  return rules;
}

Rules Rules::pulse_default() {
  const EmbeddedFile& file = embedded_rules[0];
  std::string error;
  std::optional<Rules> rules = parse(file.content, "rules/" + std::string(file.name), &error);
  // The file is compiled in and covered by tests: failing here is a build defect.
  if (!rules) throw std::logic_error("compiled-in rules are invalid: " + error);
  return std::move(*rules);
}

const Rule* Rules::first_match(ResourceKind resource, Permission permission, std::string_view name,
                               const PatternValues& values) const {
  for (const Rule& rule : rules_) {
    if (rule.applies_to(resource, permission) && rule.pattern.matches(name, values)) return &rule;
  }
  return nullptr;
}

}  // namespace authsvc
