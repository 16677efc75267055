#include "authsvc/core/audit_summary.h"

#include <doctest/doctest.h>

namespace authsvc {
namespace {

void add(AuditSummary* summary, std::string_view line, int times = 1) {
  std::string error;
  std::optional<AuditLineView> view = scan_audit_line(line, &error);
  REQUIRE_MESSAGE(view, error);
  for (int i = 0; i < times; ++i) summary->add(*view);
}

}  // namespace

TEST_CASE("the summary counts by user, rule and decision, the most lines first, aligned") {
  AuditSummary summary;
  add(&summary,
      R"({"ts":"2026-11-27T23:18:49Z","endpoint":"resource","user":"alice","decision":"allow","rule":"own-exchange"})",
      12);
  add(&summary,
      R"({"ts":"2026-11-27T23:18:49Z","endpoint":"topic","user":"bob","decision":"deny","rule":"default-deny"})",
      1200);
  add(&summary,
      R"({"ts":"2026-11-27T23:18:49Z","endpoint":"user","user":"alice","decision":"deny","rule":"login"})",
      12);
  add(&summary,
      R"({"ts":"2026-11-27T23:18:49Z","endpoint":"/auth/x","user":"","decision":"deny","rule":"bad-request"})");
  add(&summary, R"({"ts":"2026-11-27T23:18:49Z","actor":"cli","user":"carol","decision":"ok"})");
  add(&summary,
      R"({"ts":"2026-11-27T23:18:49Z","actor":"web","user":"carol","decision":"denied"})");
  add(&summary,
      R"({"ts":"2026-11-27T23:18:49Z","endpoint":"user","user":"\u0063arol\u0001","decision":"allow","rule":"\u006cogin"})");
  CHECK(summary.lines() == 1228);
  CHECK(summary.table() ==
        "USER       RULE          DECISION  COUNT\n"
        "bob        default-deny  deny       1200\n"
        "alice      login         deny         12\n"
        "alice      own-exchange  allow        12\n"
        "-          bad-request   deny          1\n"
        "carol      -             denied        1\n"
        "carol      -             ok            1\n"
        "carol\\x01  login         allow         1\n"
        "(total)                             1228\n");
}

TEST_CASE("one node's lines count as before, and several nodes' count apart, node first") {
  const std::string one =
      R"({"node":"pulse-1:8000","ts":"2026-11-27T23:18:49Z","endpoint":"user","user":"alice","decision":"allow","rule":"login"})";
  const std::string two =
      R"({"node":"pulse-2:8000","ts":"2026-11-27T23:18:49Z","endpoint":"user","user":"alice","decision":"allow","rule":"login"})";
  const std::string older =
      R"({"ts":"2026-11-27T23:18:49Z","endpoint":"user","user":"alice","decision":"allow","rule":"login"})";
  AuditSummary single;
  add(&single, one, 3);
  CHECK(single.table() ==
        "USER     RULE   DECISION  COUNT\n"
        "alice    login  allow         3\n"
        "(total)                       3\n");

  AuditSummary several;
  add(&several, one, 3);
  add(&several, two, 5);
  add(&several,
      R"({"node":"pulse-2:8000","ts":"2026-11-27T23:18:49Z","event":7,"actor":"cli","user":"bob","decision":"ok"})");
  // A log that spans the upgrade: its older lines name no node.
  add(&several, older, 3);
  CHECK(several.lines() == 12);
  CHECK(several.table() ==
        "NODE          USER   RULE   DECISION  COUNT\n"
        "pulse-2:8000  alice  login  allow         5\n"
        "-             alice  login  allow         3\n"
        "pulse-1:8000  alice  login  allow         3\n"
        "pulse-2:8000  bob    -      ok            1\n"
        "(total)                                  12\n");
}

TEST_CASE("an empty summary is its header and a total of 0") {
  CHECK(AuditSummary().table() ==
        "USER     RULE  DECISION  COUNT\n"
        "(total)                      0\n");
}

}  // namespace authsvc
