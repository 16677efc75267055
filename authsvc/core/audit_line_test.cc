#include "authsvc/core/audit_line.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

namespace authsvc {

TEST_CASE("a web line says who, from where, what, and how it ended, in a fixed order") {
  WebRecord r;
  r.ts = std::chrono::system_clock::time_point(std::chrono::seconds(1796083200));
  r.operator_name = "alice@example.org";
  r.via = "session";
  r.from = "203.0.113.7";
  r.method = "POST";
  r.path = "/accounts/alice-app/rotate";
  r.action = "account rotate";
  r.user = "alice-app";
  r.detail = "grace 1m";
  r.ok = true;
  r.status = 200;
  CHECK(to_json_line(r) ==
        R"({"ts":"2026-12-01T00:00:00.000000Z","actor":"web","operator":"alice@example.org",)"
        R"("via":"session","from":"203.0.113.7","method":"POST",)"
        R"("path":"/accounts/alice-app/rotate","action":"account rotate","user":"alice-app",)"
        R"("detail":"grace 1m","decision":"ok","status":200,"reason":""})");

  // Whatever a client sent stays one line of valid JSON.
  r.ok = false;
  r.status = 403;
  r.path = "/accounts/\n\"x\xff";
  r.reason = "CSRF token missing";
  nlohmann::json line = nlohmann::json::parse(to_json_line(r));
  CHECK(line["decision"] == "denied");
  CHECK(line["status"] == 403);
  CHECK(line["path"] == "/accounts/\n\"x\xef\xbf\xbd");
  CHECK(line["reason"] == "CSRF token missing");
}

TEST_CASE("a user-management line carries the store's event id, and one never stored none") {
  AuditEvent e;
  e.id = 4711;
  e.ts = "2026-12-01T00:00:00.000000Z";
  e.actor = "cli";
  e.operator_name = "root";
  e.action = "user disable";
  e.user = "carol";
  CHECK(to_json_line(e) ==
        R"({"ts":"2026-12-01T00:00:00.000000Z","event":4711,"actor":"cli","operator":"root",)"
        R"("action":"user disable","user":"carol","detail":"","decision":"ok"})");

  // The guardian's own lines go straight to its audit log: no id to give.
  e.id = 0;
  e.actor = "guardian";
  e.operator_name = "";
  e.action = "mail sent";
  CHECK(to_json_line(e) ==
        R"({"ts":"2026-12-01T00:00:00.000000Z","actor":"guardian","operator":"",)"
        R"("action":"mail sent","user":"carol","detail":"","decision":"ok"})");
}

}  // namespace authsvc
