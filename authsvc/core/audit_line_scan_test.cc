#include "authsvc/core/audit_line_scan.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "authsvc/core/audit_line.h"
#include "authsvc/core/text.h"

namespace authsvc {
namespace {

using std::chrono::microseconds;
using std::chrono::system_clock;

constexpr std::int64_t kTs = 1795821529123456;  // 2026-11-27T23:18:49.123456Z

std::string decision_line(std::string_view user, bool allow, std::string_view rule) {
  DecisionRecord r;
  r.ts = system_clock::time_point(microseconds(kTs));
  r.endpoint = "resource";
  r.user = user;
  r.vhost = "/";
  r.resource = "exchange";
  r.name = "exchange/alice/builds";
  r.permission = "write";
  r.peer = "127.0.0.1:58006";
  r.allow = allow;
  r.rule = rule;
  r.reason = "rule own-exchange (line 22) allows write on exchange 'exchange/alice/builds'";
  r.us = 108;
  return to_json_line(r);
}

std::string management_line(std::string_view user) {
  AuditEvent e;
  e.ts = "2026-11-27T23:24:52.814463Z";
  e.actor = "cli";
  e.operator_name = "root";
  e.action = "user disable";
  e.user = std::string(user);
  return to_json_line(e);
}

std::string web_line(std::string_view user, bool ok) {
  WebRecord r;
  r.ts = system_clock::time_point(microseconds(kTs));
  r.operator_name = "alice@example.org";
  r.via = "session";
  r.from = "203.0.113.7";
  r.method = "POST";
  r.path = "/accounts/alice-app/rotate";
  r.action = "account rotate";
  r.user = user;
  r.ok = ok;
  r.status = ok ? 200 : 403;
  r.reason = ok ? "" : "CSRF token missing";
  return to_json_line(r);
}

std::optional<AuditLineView> scan(std::string_view line) {
  std::string error;
  std::optional<AuditLineView> view = scan_audit_line(line, &error);
  INFO("error: " << error);
  CHECK((view.has_value() || !error.empty()));
  return view;
}

std::string scan_error(std::string_view line) {
  std::string error;
  if (scan_audit_line(line, &error)) return "(an audit line)";
  return error;
}

}  // namespace

TEST_CASE("each kind of line authsvc writes reads back with its fields") {
  // A view points into its line: each line is kept while its view is read.
  const std::string alice = decision_line("alice", true, "own-exchange");
  std::optional<AuditLineView> d = scan(alice);
  REQUIRE(d);
  CHECK(d->kind == AuditLineKind::decision);
  CHECK(d->ts_us == kTs);
  CHECK(d->decision == AuditDecision::allow);
  CHECK(d->user.raw == "alice");
  CHECK(d->endpoint.raw == "resource");
  CHECK(d->has_rule);
  CHECK(d->rule.raw == "own-exchange");

  const std::string bob = decision_line("bob", false, "default-deny");
  d = scan(bob);
  REQUIRE(d);
  CHECK(d->decision == AuditDecision::deny);

  const std::string carol = management_line("carol");
  std::optional<AuditLineView> m = scan(carol);
  REQUIRE(m);
  CHECK(m->kind == AuditLineKind::management);
  CHECK(m->ts_us == 1795821892814463);
  CHECK(m->decision == AuditDecision::ok);
  CHECK(m->user.raw == "carol");
  CHECK_FALSE(m->has_rule);

  const std::string denied = web_line("alice-app", false);
  std::optional<AuditLineView> w = scan(denied);
  REQUIRE(w);
  CHECK(w->kind == AuditLineKind::web);
  CHECK(w->decision == AuditDecision::denied);
  CHECK(w->user.raw == "alice-app");
  CHECK(scan(web_line("alice-app", true))->decision == AuditDecision::ok);
}

TEST_CASE("the node that wrote a line reads back, and a line from before nodes reads without") {
  // As the audit log writes them (server/audit_log.h puts the node first).
  const std::string decision =
      R"({"node":"pulse-1:8000","ts":"2026-11-27T23:18:49.123456Z","endpoint":"user",)"
      R"("user":"alice","decision":"allow","rule":"login","us":12})";
  std::optional<AuditLineView> d = scan(decision);
  REQUIRE(d);
  CHECK(d->has_node);
  CHECK(d->node.raw == "pulse-1:8000");
  CHECK(d->user.raw == "alice");
  CHECK(d->rule.raw == "login");

  const std::string event =
      R"({"node":"pulse-2","ts":"2026-11-27T23:24:52.814463Z","event":4711,"actor":"cli",)"
      R"("operator":"root","action":"user disable","user":"carol","detail":"","decision":"ok"})";
  std::optional<AuditLineView> m = scan(event);
  REQUIRE(m);
  CHECK(m->kind == AuditLineKind::management);
  CHECK(m->node.equals("pulse-2"));

  const std::string old = decision_line("alice", true, "own-exchange");
  d = scan(old);
  REQUIRE(d);
  CHECK_FALSE(d->has_node);
  CHECK(d->node.raw.empty());

  CHECK(scan_error(R"({"node":1,"ts":"2026-11-27T23:18:49Z","endpoint":"user","user":"a",)"
                   R"("decision":"allow"})") == "not a string: \"node\"");
  CHECK(scan_error(R"({"node":"a","node":"b","ts":"2026-11-27T23:18:49Z","endpoint":"user",)"
                   R"("user":"a","decision":"allow"})") == "more than one \"node\"");
}

TEST_CASE("a store event's number reads back, and only a plain positive integer is one") {
  auto event_of = [](const std::string& value) {
    std::string line = R"({"ts":"2026-11-27T23:24:52.814463Z","event":)" + value +
                       R"(,"actor":"cli","operator":"root","action":"user disable",)"
                       R"("user":"carol","detail":"","decision":"ok"})";
    std::optional<AuditLineView> m = scan(line);
    REQUIRE(m);
    return m->event;
  };
  CHECK(event_of("4711") == 4711);
  CHECK(event_of("0") == 0);
  CHECK(event_of("-3") == 0);
  CHECK(event_of("1.5") == 0);
  CHECK(event_of("\"12\"") == 0);
  CHECK(event_of("[1]") == 0);
  CHECK(event_of("99999999999999999999") == 0);  // past int64: no number
  CHECK(scan(decision_line("alice", true, "own-exchange"))->event == 0);
  // Twice in one line: which one would be a guess, so neither.
  std::optional<AuditLineView> twice =
      scan(R"({"ts":"2026-11-27T23:24:52Z","event":1,"event":2,"actor":"cli","user":"c",)"
           R"("decision":"ok"})");
  REQUIRE(twice);
  CHECK(twice->event == 0);
  // A nested "event" is not the line's.
  std::optional<AuditLineView> nested =
      scan(R"({"ts":"2026-11-27T23:24:52Z","x":{"event":7},"actor":"cli","user":"c",)"
           R"("decision":"ok"})");
  REQUIRE(nested);
  CHECK(nested->event == 0);
}

TEST_CASE("escaped strings compare by their value") {
  // What the writer escapes (a quote, a control character) and what it
  // never writes but JSON allows (\u escapes, a surrogate pair, "\/").
  const std::string escaped = decision_line("a\"b\n", false, "bad-request");
  std::optional<AuditLineView> d = scan(escaped);
  REQUIRE(d);
  CHECK(d->user.escaped);
  CHECK(d->user.value() == "a\"b\n");
  CHECK(d->user.equals("a\"b\n"));
  CHECK_FALSE(d->user.equals("a\\\"b\\n"));

  d = scan(R"({"ts":"2026-11-27T23:18:49.123456\u005a","endpoint":"\u0072esource",)"
           R"("user":"\u0061lice\/\ud83d\ude00\u00e9","decision":"\u0064eny","rule":"r"})");
  REQUIRE(d);
  CHECK(d->ts_us == kTs);
  CHECK(d->decision == AuditDecision::deny);
  CHECK(d->user.value() == "alice/\xF0\x9F\x98\x80\xC3\xA9");
  CHECK(d->endpoint.equals("resource"));
  CHECK_FALSE(d->rule.escaped);

  // A key may be escaped too.
  CHECK(
      scan(R"({"\u0074s":"2026-11-27T23:18:49Z","endpoint":"user","user":"","decision":"allow"})"));
}

TEST_CASE("fields a later version might add, nested values included, are checked and ignored") {
  std::optional<AuditLineView> d =
      scan(R"( {"ts":"2026-11-27T23:18:49Z","new":{"a":[1,-2.5e+3,true,false,null,{}],"b":[]},)"
           R"("endpoint":"vhost","user":"dana","decision":"allow","rule":"vhost-grant","n":0} )"
           "\r");
  REQUIRE(d);
  CHECK(d->user.raw == "dana");
  CHECK(d->rule.raw == "vhost-grant");
}

TEST_CASE("a line that is no audit line says why in one line, without its content") {
  const std::string good = decision_line("alice", true, "own-exchange");
  struct Case {
    std::string line;
    std::string error;
  };
  for (
      const Case& c : std::vector<Case>{
          {"", "not a JSON object"},
          {"   ", "not a JSON object"},
          {"[1,2]", "not a JSON object"},
          {"\"text\"", "not a JSON object"},
          {"hello world", "not a JSON object"},
          {"{", "invalid JSON at byte 2"},
          {"{}", "no \"ts\""},
          {good + "x", "invalid JSON at byte " + std::to_string(good.size() + 1)},
          {good + good, "invalid JSON at byte " + std::to_string(good.size() + 1)},
          {good.substr(0, good.size() - 1), "invalid JSON at byte " + std::to_string(good.size())},
          {R"({"ts":"x","ts":"y"})", "more than one \"ts\""},
          {R"({"ts":1,"user":"a"})", "not a string: \"ts\""},
          {R"({"ts":"2026-11-27T23:18:49Z","user":null})", "not a string: \"user\""},
          {R"({"ts":"2026-11-27 23:18:49Z","endpoint":"user","user":"a","decision":"allow"})",
           "\"ts\" is not an RFC 3339 time in UTC"},
          {R"({"ts":"2026-11-27T23:18:49+01:00","endpoint":"user","user":"a","decision":"allow"})",
           "\"ts\" is not an RFC 3339 time in UTC"},
          {R"({"ts":"2026-11-27T23:18:49Z","endpoint":"user","decision":"allow"})", "no \"user\""},
          {R"({"ts":"2026-11-27T23:18:49Z","endpoint":"user","user":"a"})", "no \"decision\""},
          {R"({"ts":"2026-11-27T23:18:49Z","user":"a","decision":"allow"})",
           "neither \"endpoint\" nor \"actor\""},
          {R"({"ts":"2026-11-27T23:18:49Z","endpoint":"u","actor":"cli","user":"a","decision":"ok"})",
           "both \"endpoint\" and \"actor\""},
          {R"({"ts":"2026-11-27T23:18:49Z","endpoint":"user","user":"a","decision":"ok"})",
           "a decision line's \"decision\" is not allow or deny"},
          {R"({"ts":"2026-11-27T23:18:49Z","actor":"web","user":"a","decision":"deny"})",
           "a web line's \"decision\" is not ok or denied"},
          {R"({"ts":"2026-11-27T23:18:49Z","actor":"cli","user":"a","decision":"denied"})",
           "a user-management line's \"decision\" is not ok"},
          {"{\"ts\":\"a\x01\"}", "invalid JSON at byte 9"},
          {"{\"ts\":\"a\xff\"}", "invalid JSON at byte 9"},
          {R"({"ts":"\x"})", "invalid JSON at byte 8"},
          {R"({"ts":"\u12"})", "invalid JSON at byte 8"},
          {R"({"ts":"\udc00"})", "invalid JSON at byte 8"},
          {R"({"ts":"\ud800x"})", "invalid JSON at byte 8"},
          {R"({"ts":"a","n":01})", "invalid JSON at byte 16"},
          {R"({"ts":"a","n":1.})", "invalid JSON at byte 17"},
          {R"({"ts":"a","n":-})", "invalid JSON at byte 16"},
          {R"({"ts":"a","n":tru})", "invalid JSON at byte 15"},
          {R"({"ts":"a",})", "invalid JSON at byte 11"},
          {R"({"ts" "a"})", "invalid JSON at byte 7"},
          {R"({ts:"a"})", "invalid JSON at byte 2"},
          {R"({"ts":"a","n":[1,]})", "invalid JSON at byte 18"},
          {"{\"ts\":\"a\",\"n\":" + std::string(64, '[') + std::string(64, ']') + "}",
           "invalid JSON at byte 78"},
      }) {
    CAPTURE(c.line);
    CHECK(scan_error(c.line) == c.error);
  }
  // Nesting up to 64 deep, the line's object included, is JSON: what is
  // wrong there is a missing field.
  CHECK(scan_error("{\"ts\":\"a\",\"n\":" + std::string(63, '[') + std::string(63, ']') + "}") ==
        "no \"user\"");
}

TEST_CASE("a byte that ends a plain run is seen at every offset of a long string") {
  // The scanner passes plain bytes sixteen or eight at a time: each kind of
  // byte that stops it, at each offset within those steps and the tail.
  const std::vector<std::string> stops = {"\x01", "\x1f",     "\"",   "\\x",     "\\n",
                                          "\xff", "\xc3\xa9", "\x7f", "\\u00e9", "\xed\xa0\x80"};
  for (const std::string& stop : stops) {
    for (std::size_t at = 0; at < 48; ++at) {
      std::string reason = std::string(at, 'r') + stop + std::string(40, 'r');
      std::string line = R"({"ts":"2026-11-27T23:18:49Z","endpoint":"user","user":"a",)"
                         R"("decision":"allow","reason":")" +
                         reason + R"("})";
      CAPTURE(hex_encode(stop));
      CAPTURE(at);
      std::string error;
      bool ours = scan_audit_line(line, &error).has_value();
      bool theirs = nlohmann::json::accept(line);
      CHECK(ours == theirs);
      if (!ours) CHECK(error.rfind("invalid JSON at byte ", 0) == 0);
    }
  }
}

TEST_CASE("the scanner agrees with nlohmann on arbitrary changes to audit lines") {
  // A line is an object to us exactly when nlohmann parses it as one; when
  // it is an audit line, nlohmann reads the same fields from it.
  std::mt19937 rng(20261128);
  const std::vector<std::string> seeds = {
      decision_line("alice", true, "own-exchange"),
      decision_line("b\xC3\xA9la", false, "default-deny"),
      management_line("carol"),
      web_line("dana", false),
      R"({"ts":"2026-11-27T23:18:49Z","x":[1,{"y":"\ud83d\ude00"}],"endpoint":"user",)"
      R"("user":"\u0065ve","decision":"allow","n":-0.5e-3})",
  };
  const std::vector<unsigned char> alphabet = {
      '"',  '\\', '{',  '}',  '[',  ']',  ':',  ',',  '0',  '1',  '-', '+',  'e',
      '.',  'u',  'a',  'd',  'f',  't',  'n',  ' ',  '\t', '\r', '/', 0x00, 0x1f,
      0x7f, 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0xed, 0xa0, 0xf0, 0x9f, 0xff};
  int disagreements = 0;
  int audit_lines = 0;
  std::string first;
  for (int i = 0; i < 60000; ++i) {
    std::string line = seeds[rng() % seeds.size()];
    int changes = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < changes; ++k) {
      std::size_t at = rng() % (line.size() + 1);
      char byte = static_cast<char>(alphabet[rng() % alphabet.size()]);
      switch (rng() % 3) {
        case 0:
          if (at < line.size()) line[at] = byte;
          break;
        case 1:
          line.insert(at, 1, byte);
          break;
        default:
          if (at < line.size()) line.erase(at, 1);
      }
    }
    std::string error;
    std::optional<AuditLineView> ours = scan_audit_line(line, &error);
    bool ours_object =
        ours || !(error == "not a JSON object" || error.rfind("invalid JSON", 0) == 0);
    nlohmann::json theirs = nlohmann::json::parse(line, nullptr, false);
    bool theirs_object = !theirs.is_discarded() && theirs.is_object();
    bool agree = ours_object == theirs_object;
    if (agree && ours) {
      ++audit_lines;
      agree = theirs["user"] == ours->user.value() &&
              theirs["decision"] == std::string(to_string(ours->decision)) &&
              theirs.contains("rule") == ours->has_rule &&
              (!ours->has_rule || theirs["rule"] == ours->rule.value());
    }
    if (!agree && disagreements++ == 0) first = line;
  }
  INFO("first disagreement, bytes: " << hex_encode(first));
  CHECK(disagreements == 0);
  // The changes left enough lines whole for the field check to mean something.
  CHECK(audit_lines > 5000);
}

}  // namespace authsvc
