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

TEST_CASE("an empty summary is its header and a total of 0") {
  CHECK(AuditSummary().table() ==
        "USER     RULE  DECISION  COUNT\n"
        "(total)                      0\n");
}

}  // namespace authsvc
