#include "authsvc/core/rules.h"

#include <doctest/doctest.h>
#include <re2/re2.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "authsvc/core/form.h"
#include "authsvc/core/names.h"

namespace authsvc {
namespace {

constexpr std::string_view kSource = "test.rules";

Rules parse_ok(std::string_view text) {
  std::string error;
  std::optional<Rules> rules = Rules::parse(text, kSource, &error);
  INFO("text: ", text, " error: ", error);
  REQUIRE(rules.has_value());
  return std::move(*rules);
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The error for `text`, which must be refused with one line that names the
// source and `line`: "test.rules:LINE: ...".
std::string parse_error(std::string_view text, int line) {
  std::string error;
  std::optional<Rules> rules = Rules::parse(text, kSource, &error);
  INFO("text: ", text);
  REQUIRE_FALSE(rules.has_value());
  CHECK(error.find('\n') == std::string::npos);
  CHECK(starts_with(error, std::string(kSource) + ":" + std::to_string(line) + ": "));
  return error;
}

Pattern compile_ok(std::string_view text) {
  std::string error;
  std::optional<Pattern> pattern = Pattern::compile(text, &error);
  INFO("pattern: ", text, " error: ", error);
  REQUIRE(pattern.has_value());
  return std::move(*pattern);
}

bool matches(std::string_view pattern, std::string_view name, std::string_view user,
             std::string_view vhost = "/") {
  return compile_ok(pattern).matches(name, PatternValues{user, vhost});
}

// The name of the rule that decides, or "" for the default deny.
std::string deciding_rule(const Rules& rules, ResourceKind r, Permission p, std::string_view name,
                          std::string_view user, std::string_view vhost = "/") {
  const Rule* rule = rules.first_match(r, p, name, PatternValues{user, vhost});
  return rule ? rule->name : "";
}

bool allowed(const Rules& rules, ResourceKind r, Permission p, std::string_view name,
             std::string_view user, std::string_view vhost = "/") {
  const Rule* rule = rules.first_match(r, p, name, PatternValues{user, vhost});
  return rule && rule->effect == Effect::allow;
}

// What rules.h says a pattern means: each placeholder replaced by its value
// quoted with RE2::QuoteMeta, the whole compiled in Latin-1 mode.
std::string substitute(std::string_view pattern, std::string_view user, std::string_view vhost) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern.substr(i, 6) == "{user}") {
      out += RE2::QuoteMeta(re2::StringPiece(user.data(), user.size()));
      i += 6;
    } else if (pattern.substr(i, 7) == "{vhost}") {
      out += RE2::QuoteMeta(re2::StringPiece(vhost.data(), vhost.size()));
      i += 7;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

std::unique_ptr<RE2> latin1_regex(const std::string& text) {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(text, options);
  INFO("regex: ", text, " error: ", re->error());
  REQUIRE(re->ok());
  return re;
}

bool reference_matches(std::string_view pattern, std::string_view name, std::string_view user,
                       std::string_view vhost) {
  auto re = latin1_regex(substitute(pattern, user, vhost));
  return RE2::FullMatch(re2::StringPiece(name.data(), name.size()), *re);
}

constexpr auto kAllResources = {ResourceKind::exchange, ResourceKind::queue, ResourceKind::topic};
constexpr auto kAllPermissions = {Permission::configure, Permission::write, Permission::read};

TEST_SUITE("rules") {
  TEST_CASE("the substitution helper quotes each placeholder's value") {
    CHECK(substitute("exchange/{user}/.+", "a.b", "/") == "exchange/a\\.b/.+");
    CHECK(substitute("{vhost}{user}{vhost}", "a", "x*") == "x\\*ax\\*");
    CHECK(substitute("{usr}", "a", "/") == "{usr}");
  }

  TEST_CASE("the compiled-in Pulse rules parse, in file order, from rules/pulse.rules") {
    Rules rules = Rules::pulse_default();
    CHECK(rules.source() == "rules/pulse.rules");
    std::vector<std::string> names;
    for (const Rule& rule : rules.rules()) names.push_back(rule.name);
    std::vector<std::string> expected = {
        "system-exchange",      "system-queue",    "queue-named-exchange",
        "exchange-named-queue", "own-exchange",    "own-queue",
        "any-exchange-read",    "own-topic-write", "any-topic-read"};
    CHECK(names == expected);
  }

  TEST_CASE("each compiled-in rule records the line it is on in rules/pulse.rules") {
    std::ifstream in(AUTHSVC_SOURCE_DIR "/rules/pulse.rules");
    REQUIRE(in.good());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    Rules rules = Rules::pulse_default();
    REQUIRE_FALSE(rules.rules().empty());
    for (const Rule& rule : rules.rules()) {
      CAPTURE(rule.name);
      REQUIRE(rule.line >= 1);
      REQUIRE(static_cast<std::size_t>(rule.line) <= lines.size());
      CHECK(starts_with(lines[static_cast<std::size_t>(rule.line) - 1], rule.name + " "));
    }
  }

  TEST_CASE("the Pulse rules give each user their own exchanges and queues and nothing else") {
    Rules rules = Rules::pulse_default();
    using R = ResourceKind;
    using P = Permission;
    for (P p : kAllPermissions) {
      CAPTURE(to_string(p));
      CHECK(deciding_rule(rules, R::exchange, p, "exchange/alice/x", "alice") == "own-exchange");
      CHECK(deciding_rule(rules, R::queue, p, "queue/alice/q", "alice") == "own-queue");
      CHECK_FALSE(allowed(rules, R::queue, p, "queue/alice/q", "bob"));
      CHECK(deciding_rule(rules, R::queue, p, "amq.gen-Ahc", "alice") == "system-queue");
      CHECK(deciding_rule(rules, R::exchange, p, "amq.default", "alice") == "system-exchange");
      CHECK(deciding_rule(rules, R::queue, p, "exchange/alice/x", "alice") ==
            "queue-named-exchange");
      CHECK(deciding_rule(rules, R::exchange, p, "queue/alice/x", "alice") ==
            "exchange-named-queue");
      // Nobody owns a prefix of their name or a longer name.
      CHECK_FALSE(allowed(rules, R::queue, p, "queue/alicex/q", "alice"));
      CHECK_FALSE(allowed(rules, R::queue, p, "queue/alice/q", "ali"));
      CHECK_FALSE(allowed(rules, R::queue, p, "queue/alice", "alice"));
      CHECK_FALSE(allowed(rules, R::queue, p, "queue/alice/", "alice"));
      CHECK_FALSE(allowed(rules, R::queue, p, "q", "alice"));
    }
    // Anyone may read (bind to) anyone's exchange, not configure or write it.
    CHECK(deciding_rule(rules, R::exchange, P::read, "exchange/alice/x", "bob") ==
          "any-exchange-read");
    CHECK(deciding_rule(rules, R::exchange, P::configure, "exchange/alice/x", "bob") == "");
    CHECK(deciding_rule(rules, R::exchange, P::write, "exchange/alice/x", "bob") == "");
    CHECK(deciding_rule(rules, R::exchange, P::configure, "exchange/alice/", "alice") == "");
    CHECK(deciding_rule(rules, R::exchange, P::write, "unprefixed", "alice") == "");
    // Topics: write on one's own exchanges, read on any Pulse exchange.
    CHECK(deciding_rule(rules, R::topic, P::write, "exchange/alice/x", "alice") ==
          "own-topic-write");
    CHECK(deciding_rule(rules, R::topic, P::write, "exchange/alice/x", "bob") == "");
    CHECK(deciding_rule(rules, R::topic, P::read, "exchange/alice/x", "bob") == "any-topic-read");
    CHECK(deciding_rule(rules, R::topic, P::read, "amq.topic", "bob") == "");
    // A user named like a regex owns only the literal name.
    CHECK(deciding_rule(rules, R::exchange, P::configure, "exchange/a.b/v1", "a.b") ==
          "own-exchange");
    CHECK(deciding_rule(rules, R::exchange, P::configure, "exchange/aXb/v1", "a.b") == "");
  }

  TEST_CASE("the Pulse rules answer every captured RabbitMQ 3.10 resource and topic check") {
    Rules rules = Rules::pulse_default();
    std::ifstream in(AUTHSVC_TESTDATA "/rabbitmq-3.10-requests.jsonl");
    REQUIRE(in.good());
    int checked = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line);
      std::string path = j.at("path").get<std::string>();
      if (path != "/auth/resource" && path != "/auth/topic") continue;
      CAPTURE(line);
      std::string error;
      std::optional<Form> form = Form::decode(j.at("params").get<std::string>(), &error);
      REQUIRE(form.has_value());
      std::optional<ResourceKind> kind = resource_kind_from_string(*form->find("resource"));
      std::optional<Permission> perm = permission_from_string(*form->find("permission"));
      REQUIRE(kind.has_value());
      REQUIRE(perm.has_value());
      bool allow = allowed(rules, *kind, *perm, *form->find("name"), *form->find("username"),
                           *form->find("vhost"));
      CHECK(allow == (j.at("answer").get<std::string>() == "allow"));
      ++checked;
    }
    CHECK(checked >= 40);
  }

  TEST_CASE("comments, blank lines and whitespace-only lines are skipped, and lines are counted") {
    Rules rules = parse_ok(
        "# a comment\n"
        "\n"
        "   \t \n"
        "   # an indented comment\n"
        "first  allow  exchange  read  exchange/.+\n"
        "\tsecond\tdeny\tqueue\tconfigure,write\tqueue/.*   \n"
        "third allow * * x y\r\n"
        "# trailing comment without newline");
    REQUIRE(rules.rules().size() == 3);
    const Rule& first = rules.rules()[0];
    CHECK(first.name == "first");
    CHECK(first.line == 5);
    CHECK(first.effect == Effect::allow);
    CHECK(first.pattern.text() == "exchange/.+");
    const Rule& second = rules.rules()[1];
    CHECK(second.name == "second");
    CHECK(second.line == 6);
    CHECK(second.effect == Effect::deny);
    CHECK(second.pattern.text() == "queue/.*");
    CHECK(second.applies_to(ResourceKind::queue, Permission::configure));
    CHECK(second.applies_to(ResourceKind::queue, Permission::write));
    CHECK_FALSE(second.applies_to(ResourceKind::queue, Permission::read));
    CHECK_FALSE(second.applies_to(ResourceKind::exchange, Permission::configure));
    // The pattern is the rest of the line, inner spaces included, CR trimmed.
    const Rule& third = rules.rules()[2];
    CHECK(third.line == 7);
    CHECK(third.pattern.text() == "x y");
    CHECK(third.pattern.matches("x y", PatternValues{"alice", "/"}));
  }

  TEST_CASE("an empty text or a text of only comments is a policy with no rules") {
    CHECK(parse_ok("").rules().empty());
    CHECK(parse_ok("# nothing\n\n").rules().empty());
    CHECK(parse_ok("").first_match(ResourceKind::exchange, Permission::read, "x",
                                   PatternValues{"a", "/"}) == nullptr);
  }

  TEST_CASE("'*' stands for every resource kind or every permission") {
    Rules rules = parse_ok("all allow * * .*\n");
    REQUIRE(rules.rules().size() == 1);
    for (ResourceKind r : kAllResources) {
      for (Permission p : kAllPermissions) {
        CHECK(rules.rules()[0].applies_to(r, p));
      }
    }
    Rules lists = parse_ok("some allow exchange,topic read,write .*\n");
    const Rule& some = lists.rules()[0];
    CHECK(some.applies_to(ResourceKind::exchange, Permission::read));
    CHECK(some.applies_to(ResourceKind::topic, Permission::write));
    CHECK_FALSE(some.applies_to(ResourceKind::queue, Permission::read));
    CHECK_FALSE(some.applies_to(ResourceKind::exchange, Permission::configure));
  }

  TEST_CASE("the first rule that applies and matches wins") {
    Rules deny_first = parse_ok(
        "no-secret deny exchange * exchange/{user}/secret\n"
        "own allow exchange * exchange/{user}/.+\n");
    PatternValues alice{"alice", "/"};
    const Rule* rule = deny_first.first_match(ResourceKind::exchange, Permission::write,
                                              "exchange/alice/secret", alice);
    REQUIRE(rule != nullptr);
    CHECK(rule->name == "no-secret");
    CHECK(rule->effect == Effect::deny);
    CHECK(rule->line == 1);
    rule = deny_first.first_match(ResourceKind::exchange, Permission::write,
                                  "exchange/alice/public", alice);
    REQUIRE(rule != nullptr);
    CHECK(rule->name == "own");
    CHECK(rule->line == 2);

    Rules allow_first = parse_ok(
        "own allow exchange * exchange/{user}/.+\n"
        "no-secret deny exchange * exchange/{user}/secret\n");
    rule = allow_first.first_match(ResourceKind::exchange, Permission::write,
                                   "exchange/alice/secret", alice);
    REQUIRE(rule != nullptr);
    CHECK(rule->name == "own");
  }

  TEST_CASE("a rule for other resources or permissions is skipped even when its pattern matches") {
    Rules rules = parse_ok(
        "queue-deny deny queue * .*\n"
        "read-deny deny exchange read .*\n"
        "fallback allow exchange * .*\n");
    PatternValues v{"alice", "/"};
    const Rule* rule = rules.first_match(ResourceKind::exchange, Permission::write, "x", v);
    REQUIRE(rule != nullptr);
    CHECK(rule->name == "fallback");
    rule = rules.first_match(ResourceKind::exchange, Permission::read, "x", v);
    REQUIRE(rule != nullptr);
    CHECK(rule->name == "read-deny");
    CHECK(rules.first_match(ResourceKind::topic, Permission::read, "x", v) == nullptr);
  }

  TEST_CASE("a name no rule matches gets no rule: the default deny") {
    Rules rules = parse_ok("own allow exchange * exchange/{user}/.+\n");
    CHECK(rules.first_match(ResourceKind::exchange, Permission::read, "exchange/bob/x",
                            PatternValues{"alice", "/"}) == nullptr);
    CHECK(rules.first_match(ResourceKind::exchange, Permission::read, "",
                            PatternValues{"alice", "/"}) == nullptr);
  }

  TEST_CASE("errors name the source and the line: too few fields") {
    for (std::string_view line : {"r allow exchange read", "r allow exchange", "r allow", "r",
                                  "r allow exchange read   "}) {
      CAPTURE(line);
      parse_error("# header\n\nok allow * * x\n" + std::string(line) + "\n", 4);
    }
  }

  TEST_CASE("errors name the source and the line: an effect other than allow or deny") {
    for (std::string_view effect : {"permit", "Allow", "DENY", "allowed"}) {
      CAPTURE(effect);
      std::string error = parse_error("ok allow * * x\nr " + std::string(effect) + " * * x\n", 2);
      CHECK(contains(error, effect));
    }
  }

  TEST_CASE("errors name the source and the line: an unknown resource") {
    std::string error = parse_error("a allow * * x\nb allow * * y\nr allow stream read x\n", 3);
    CHECK(contains(error, "stream"));
    error = parse_error("r allow exchange,Queue read x\n", 1);
    CHECK(contains(error, "Queue"));
  }

  TEST_CASE("errors name the source and the line: an unknown permission") {
    std::string error = parse_error("\n\nr allow exchange publish x\n", 3);
    CHECK(contains(error, "publish"));
    error = parse_error("r allow exchange read,delete x\n", 1);
    CHECK(contains(error, "delete"));
  }

  TEST_CASE("errors name the source and the line: an empty item in a list") {
    const char* lines[] = {"r allow exchange read, x",       "r allow exchange ,read x",
                           "r allow exchange read,,write x", "r allow exchange, read x",
                           "r allow ,exchange read x",       "r allow exchange,*, read x"};
    for (const char* line : lines) {
      CAPTURE(line);
      parse_error("ok allow * * x\n" + std::string(line) + "\n", 2);
    }
  }

  TEST_CASE("'*' is a whole field, not a list item") {
    parse_error("r allow exchange *,read x\n", 1);
  }

  TEST_CASE("errors name the source and the line: an invalid regex") {
    for (std::string_view pattern : {"(unclosed", "a[", "x**", "a{2,1}", "\\", "(?P<n>", "a)"}) {
      CAPTURE(pattern);
      parse_error("ok allow * * x\n\nr allow * * " + std::string(pattern), 3);
    }
  }

  TEST_CASE("errors name the source and the line: a duplicate rule name") {
    std::string error = parse_error("same allow * * x\nother deny * * y\nsame deny * * z\n", 3);
    CHECK(contains(error, "same"));
  }

  TEST_CASE("errors name the source and the line: an invalid rule name") {
    for (std::string_view name : {"bad/name", "bad{name}", "b*d", "n\xC3\xA9", "bad:name"}) {
      CAPTURE(name);
      parse_error("ok allow * * x\n" + std::string(name) + " allow * * x\n", 2);
    }
  }

  TEST_CASE("errors name the source and the line: an unknown placeholder") {
    for (std::string_view pattern : {"exchange/{usr}/.+", "{users}", "{vhost}/{name}", "x{user_}",
                                     "exchange/{USER}/.+", "queue/{User}/.+"}) {
      CAPTURE(pattern);
      std::string error =
          parse_error("ok allow * * x\nr allow * * " + std::string(pattern) + "\n", 2);
      CHECK(contains(error, "{"));
    }
  }

  TEST_CASE(
      "errors name the source and the line: a placeholder inside a group or before a "
      "quantifier") {
    for (std::string_view pattern :
         {"(x{user})", "exchange/({user})/.+", "{user}+", "x{user}*", "{user}?", "{vhost}+",
          "[{user}]", "(?:{user}|x)", "a({user}", "{user}{2}", "{user}{1,}"}) {
      CAPTURE(pattern);
      parse_error("ok allow * * x\n\n\nr allow * * " + std::string(pattern), 4);
    }
  }

  TEST_CASE("a pattern matches the whole name, never a substring") {
    CHECK(matches("abc", "abc", "u"));
    CHECK_FALSE(matches("abc", "xabc", "u"));
    CHECK_FALSE(matches("abc", "abcx", "u"));
    CHECK_FALSE(matches("abc", "xabcx", "u"));
    CHECK(matches("exchange/{user}/.+", "exchange/alice/x", "alice"));
    CHECK_FALSE(matches("exchange/{user}/.+", "xexchange/alice/x", "alice"));
    CHECK_FALSE(matches("exchange/{user}", "exchange/alice/x", "alice"));
    CHECK_FALSE(matches("{user}", "alicex", "alice"));
    CHECK_FALSE(matches("{user}", "xalice", "alice"));
    // A whole-name match even where an alternation could match a prefix.
    CHECK_FALSE(matches("a|ab", "abc", "u"));
    CHECK(matches("a|ab", "ab", "u"));
  }

  TEST_CASE("{user} is the user's name literally: regex characters in it match only themselves") {
    CHECK(matches("exchange/{user}/.+", "exchange/a.b/x", "a.b"));
    CHECK_FALSE(matches("exchange/{user}/.+", "exchange/aXb/x", "a.b"));
    CHECK_FALSE(matches("exchange/{user}/.+", "exchange/a/b/x", "a.b"));
    CHECK(matches("queue/{user}/.+", "queue/a-b/q", "a-b"));
    CHECK_FALSE(matches("queue/{user}/.+", "queue/a/q", "a-b"));
  }

  TEST_CASE("{user} matches the user's name, not a longer or shorter one") {
    CHECK_FALSE(matches("exchange/{user}/.+", "exchange/ab/x", "a"));
    CHECK_FALSE(matches("exchange/{user}/.+", "exchange/ba/x", "a"));
    CHECK_FALSE(matches("exchange/{user}/.+", "exchange/alice/x", "alic"));
    CHECK_FALSE(matches("exchange/{user}/.+", "exchange//x", "a"));
  }

  TEST_CASE("'.+' after {user} needs at least one byte") {
    CHECK_FALSE(matches("exchange/{user}/.+", "exchange/a/", "a"));
    CHECK(matches("exchange/{user}/.*", "exchange/a/", "a"));
    CHECK(matches("exchange/{user}/.+", "exchange/a//", "a"));
  }

  TEST_CASE("{vhost} is the vhost literally") {
    CHECK(matches("{vhost}:{user}", "prod:alice", "alice", "prod"));
    CHECK_FALSE(matches("{vhost}:{user}", "dev:alice", "alice", "prod"));
    CHECK(matches("v/{vhost}/.+", "v/a*/x", "u", "a*"));
    CHECK_FALSE(matches("v/{vhost}/.+", "v/aaa/x", "u", "a*"));
    CHECK(matches("{vhost}", "/", "u", "/"));
    CHECK_FALSE(matches("{vhost}", "", "u", "/"));
  }

  TEST_CASE("a name holding the user's name more than once matches at the right occurrence") {
    CHECK(matches("exchange/{user}/.+", "exchange/bob/bob/x", "bob"));
    CHECK(matches("exchange/{user}/.+", "exchange/bob/bob", "bob"));
    CHECK_FALSE(matches("exchange/{user}/.+", "exchange/bobbob/x", "bob"));
    // The match must be found at the last occurrence, not the first.
    CHECK(matches(".*/{user}", "bob/bob/bob", "bob"));
    CHECK(matches("x{user}y{user}z", "xabyabz", "ab"));
    CHECK_FALSE(matches("x{user}y{user}z", "xabyacz", "ab"));
    CHECK(matches("x{user}y{user}z", "xabyabyabz", "ab") ==
          reference_matches("x{user}y{user}z", "xabyabyabz", "ab", "/"));
    CHECK(matches("{user}{user}", "abab", "ab"));
    CHECK_FALSE(matches("{user}{user}", "ab", "ab"));
    // Overlapping occurrences: "aa" occurs at 0 and at 1 in "aaax".
    CHECK(matches(".*{user}x", "aaax", "aa"));
    CHECK(matches("{user}a", "aaa", "aa"));
  }

  TEST_CASE("matching is on bytes (Latin-1): any byte is one character") {
    CHECK(matches("exchange/{user}/.+", "exchange/alice/\xFF", "alice"));
    CHECK(matches("exchange/{user}/.+", std::string("exchange/alice/\0", 16), "alice"));
    // "é" in UTF-8 is two bytes, so two '.'s.
    CHECK_FALSE(matches("exchange/{user}/.", "exchange/alice/\xC3\xA9", "alice"));
    CHECK(matches("exchange/{user}/..", "exchange/alice/\xC3\xA9", "alice"));
    CHECK(matches("q/{vhost}", "q/\xC3\xA9", "u", "\xC3\xA9"));
  }

  TEST_CASE("Pattern::compile keeps the pattern's text") {
    CHECK(compile_ok("exchange/{user}/.+").text() == "exchange/{user}/.+");
  }

  TEST_CASE("Pattern::matches equals RE2 on the quoted substitution (property)") {
    const std::vector<std::string> patterns = {
        "exchange/{user}/.+",
        "queue/{user}/.*",
        "{user}",
        ".*{user}.*",
        "a{user}b{vhost}c",
        "(foo|bar)/{user}/x?",
        "{user}{user}",
        "[a-z.]*/{user}",
        "{vhost}/{user}",
        "{user}/{vhost}",
        "{vhost}{user}{vhost}",
        ".*/{user}",
        "{user}.",
        ".+{user}.+",
        "x?{user}(a|b)*",
        "[^/]*{user}[^/]*",
        "exchange/.*{user}.*/.+",
        "a*{user}a*",
        "^{user}$",
        "(?:ab)+{user}",
        "\\.{user}\\.",
        "",
        ".*",
        "exchange/.+",
    };
    const std::vector<std::string> users = {"a",  "a.b", "aXb", "b", "ab", "a-b",
                                            "ba", "aa",  "a.",  "X", "a_b"};
    const std::vector<std::string> vhosts = {"/", "a", "a.b", "x*y", "ab", "/b", "\xC3\xA9", "aa"};
    const std::string alphabet = "ab./X-";
    for (const std::string& user : users) REQUIRE(is_valid_user_name(user));
    for (const std::string& vhost : vhosts) REQUIRE(is_valid_vhost(vhost));

    std::vector<Pattern> compiled;
    for (const std::string& p : patterns) compiled.push_back(compile_ok(p));
    std::map<std::string, std::unique_ptr<RE2>> reference;

    std::mt19937 rng(20261127);
    auto below = [&](std::size_t n) {
      return static_cast<std::size_t>(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
    };
    // A name from the alphabet with the user (and maybe the vhost, or a
    // near miss of the user) spliced in at random places.
    auto random_name = [&](const std::string& user, const std::string& vhost) {
      std::string name;
      std::size_t length = below(9);
      for (std::size_t i = 0; i < length; ++i) name += alphabet[below(alphabet.size())];
      std::size_t splices = below(4);
      for (std::size_t i = 0; i < splices; ++i) {
        std::string part;
        switch (below(5)) {
          case 0:
          case 1:
            part = user;
            break;
          case 2:
            part = vhost;
            break;
          case 3: {
            part = user;
            part[below(part.size())] = alphabet[below(alphabet.size())];
            break;
          }
          default:
            part = "/" + user + "/";
            break;
        }
        name.insert(below(name.size() + 1), part);
      }
      return name;
    };

    long comparisons = 0;
    long mismatches = 0;
    long matched = 0;
    std::string first_mismatch;
    for (int round = 0; round < 1200; ++round) {
      const std::string& user = users[below(users.size())];
      const std::string& vhost = vhosts[below(vhosts.size())];
      std::string name = random_name(user, vhost);
      for (std::size_t i = 0; i < patterns.size(); ++i) {
        std::string key = std::to_string(i) + '\n' + user + '\n' + vhost;
        std::unique_ptr<RE2>& re = reference[key];
        if (!re) re = latin1_regex(substitute(patterns[i], user, vhost));
        bool expected = RE2::FullMatch(name, *re);
        bool actual = compiled[i].matches(name, PatternValues{user, vhost});
        ++comparisons;
        if (expected) ++matched;
        if (actual != expected) {
          if (mismatches == 0) {
            first_mismatch = "pattern '" + patterns[i] + "' user '" + user + "' vhost '" + vhost +
                             "' name '" + name + "': RE2 says " + (expected ? "match" : "no match");
          }
          ++mismatches;
        }
      }
    }
    INFO("first mismatch: ", first_mismatch);
    INFO("comparisons: ", comparisons, ", of which the reference matched ", matched);
    // Both answers must be well represented, or the comparison proves little.
    CHECK(matched > comparisons / 20);
    CHECK(comparisons - matched > comparisons / 20);
    CHECK(comparisons >= 20000);
    REQUIRE(mismatches == 0);
  }

  TEST_CASE("every accepted pattern means what the quoted substitution means") {
    // rules.h: "The result is exactly that of substituting RE2::QuoteMeta(value)
    // into the pattern", and a pattern where that cannot hold is an error.
    //
    // Regression (a BUG at commit c326d61, where Pattern::compile accepted
    // each pattern below, cut it at the placeholder into regex pieces that
    // do not mean separately what they mean together, and Pattern::matches
    // then disagreed with RE2::FullMatch on the substituted regex):
    //  - a top-level '|' ended up inside one piece. "amq\..*|{user}", user
    //    "alice", name "amq.topic": expected match, was no match (a deny rule
    //    that does not deny). "exchange/{user}/.+|public/.+", name
    //    "exchange/alicepublic/x" (user alicepublic's exchange): expected no
    //    match, was a match (an allow rule reaching another user's prefix).
    //  - an assertion beside a placeholder saw its piece's edges as the
    //    text's edges. "{user}\b.*", user "a", name "ab": expected no match,
    //    was a match; "a${user}" / "aalice" likewise.
    //  - a flag group did not reach the placeholder: "(?i)x{user}", user
    //    "a", name "XA": expected match, was no match.
    // These are refused now, each with its reason. Were one accepted again,
    // it would also have to match as the reference does.
    struct Refused {
      std::string_view pattern;
      std::string_view name;
      std::string_view user;
      bool reference;  // what the substituted regex says
      std::string_view reason;
    };
    const std::string_view kAlternation = "a top-level '|' cannot be used";
    const Refused refused[] = {
        {"amq\\..*|{user}", "amq.topic", "alice", true, kAlternation},
        {"exchange/{user}/.+|public/.+", "exchange/alicepublic/x", "alice", false, kAlternation},
        {"exchange/{user}/.+|queue/{user}/.+", "queue/alice/x", "alice", true, kAlternation},
        {"public|{user}", "publicalice", "alice", false, kAlternation},
        {"public|{user}", "public", "alice", true, kAlternation},
        {"{user}|x", "x", "alice", true, kAlternation},
        {"{user}|x", "alicex", "alice", false, kAlternation},
        {"{user}\\b.*", "ab", "a", false, "'\\b' cannot be used"},
        {"a${user}", "aalice", "alice", false, "'$' can only end"},
        {"{user}^a", "alicea", "alice", false, "'^' can only start"},
        {"(?i)x{user}", "XA", "a", true, "flags like (?i) cannot be used"},
        {"(?i)x{user}", "Xa", "a", true, "flags like (?i) cannot be used"},
    };
    for (const Refused& c : refused) {
      CAPTURE(c.pattern);
      CAPTURE(c.name);
      CAPTURE(c.user);
      CHECK(reference_matches(c.pattern, c.name, c.user, "/") == c.reference);
      std::string error;
      std::optional<Pattern> pattern = Pattern::compile(c.pattern, &error);
      CHECK_FALSE(pattern.has_value());
      CHECK(contains(error, c.reason));
      if (pattern) CHECK(pattern->matches(c.name, PatternValues{c.user, "/"}) == c.reference);
    }

    // What those patterns are written as instead (one rule per alternative,
    // scoped flags, anchors at the ends only), and their neighbours: each
    // accepted, and matching exactly as the substituted regex does, both
    // ways, for users and names that include the ones above.
    const std::vector<std::string> accepted = {
        "amq\\..*",
        "{user}",
        "exchange/{user}/.+",
        "public/.+",
        "queue/{user}/.+",
        "public",
        "x",
        "{user}.*",
        "a{user}",
        "^{user}a$",
        "(?i:x){user}",
        "(?:public|exchange)/{user}/(?:a|b)+",
        "{user}(?:x|y)*",
        "^exchange/{user}/.+$",
    };
    const std::vector<std::string> users = {"alice", "a", "alicepublic", "a.b", "A"};
    // Names; "{user}" in one stands for the user it is tried with.
    const std::vector<std::string> names = {
        "amq.topic",
        "amq",
        "exchange/alicepublic/x",
        "exchange/{user}/x",
        "exchange/{user}/",
        "queue/{user}/x",
        "queue/alice/x",
        "publicalice",
        "public",
        "public/x",
        "x",
        "alicex",
        "{user}x",
        "{user}xyx",
        "{user}",
        "ab",
        "aalice",
        "a{user}",
        "{user}a",
        "alicea",
        "XA",
        "Xa",
        "x{user}",
        "X{user}",
        "public/{user}/ab",
        "{user}/b",
        "exchange/aXb/x",
        "",
    };
    auto with_user = [](std::string name, const std::string& user) {
      for (std::size_t at = name.find("{user}"); at != std::string::npos;
           at = name.find("{user}", at + user.size())) {
        name.replace(at, 6, user);
      }
      return name;
    };
    long comparisons = 0;
    for (const std::string& text : accepted) {
      CAPTURE(text);
      std::string error;
      std::optional<Pattern> pattern = Pattern::compile(text, &error);
      CAPTURE(error);
      REQUIRE(pattern.has_value());
      int matched = 0;
      int unmatched = 0;
      for (const std::string& user : users) {
        for (const std::string& name_template : names) {
          std::string name = with_user(name_template, user);
          CAPTURE(user);
          CAPTURE(name);
          bool expected = reference_matches(text, name, user, "/");
          CHECK(pattern->matches(name, PatternValues{user, "/"}) == expected);
          ++comparisons;
          (expected ? matched : unmatched) += 1;
        }
      }
      // Both answers for every pattern, or its comparison proves little.
      CHECK(matched > 0);
      CHECK(unmatched > 0);
    }
    CHECK(comparisons == static_cast<long>(accepted.size() * users.size() * names.size()));
  }
}

}  // namespace
}  // namespace authsvc
