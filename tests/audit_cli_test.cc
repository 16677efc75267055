// `authsvc audit` as an operator uses it: the real binary on audit logs,
// plain and gzip-compressed, its exit codes, stdout and stderr.
#include <doctest/doctest.h>
#include <zlib.h>

#include "authsvc/core/audit_line.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::CommandResult;
using testing::run_authsvc;
using testing::TempDir;

// Lines as serve, the CLI and the web write them, a second apart from
// 2026-11-27T23:00:00Z, and two written by hand the way JSON allows and
// authsvc never writes (spaces, an escaped name, a Windows line end):
// printed as they are all the same.
const std::vector<std::string> kLines = {
    R"({"ts":"2026-11-27T23:00:00.000000Z","endpoint":"user","user":"alice","vhost":"","resource":"","name":"","permission":"","routing_key":"","ip":"","peer":"127.0.0.1:5000","decision":"allow","status":200,"rule":"login","reason":"token","credential":"current","us":90})",
    R"({"ts":"2026-11-27T23:00:01.000000Z","endpoint":"resource","user":"alice","vhost":"/","resource":"exchange","name":"exchange/bob/x","permission":"write","routing_key":"","ip":"","peer":"127.0.0.1:5000","decision":"deny","status":200,"rule":"default-deny","reason":"no rule allows it","credential":"","us":40})",
    R"({"ts":"2026-11-27T23:00:02.000000Z","endpoint":"topic","user":"bob","vhost":"/","resource":"topic","name":"exchange/bob/x","permission":"write","routing_key":"a.b","ip":"","peer":"127.0.0.1:5000","decision":"allow","status":200,"rule":"own-exchange","reason":"ok","credential":"","us":30})",
    R"({"ts":"2026-11-27T23:00:03.000000Z","actor":"cli","operator":"root","action":"user disable","user":"alice","detail":"","decision":"ok"})",
    R"({"ts":"2026-11-27T23:00:04.000000Z","actor":"web","operator":"a@example.org","via":"session","from":"203.0.113.7","method":"POST","path":"/accounts/alice/rotate","action":"account rotate","user":"alice","detail":"","decision":"denied","status":403,"reason":"CSRF token missing"})",
    R"(  { "ts" : "2026-11-27T23:00:05.5Z" , "endpoint" : "resource" , "user" : "\u0061lice" , "decision" : "deny" , "rule" : "default-deny" }  )",
    "{\"ts\":\"2026-11-27T23:00:06.000000Z\",\"endpoint\":\"vhost\",\"user\":\"bob\","
    "\"decision\":\"deny\",\"rule\":\"no-vhost-grant\"}\r",
};

// The lines with these numbers (1-based), each with its newline.
std::string lines(std::initializer_list<int> numbers) {
  std::string text;
  for (int n : numbers) text += kLines.at(static_cast<std::size_t>(n - 1)) + "\n";
  return text;
}

void write_gzip(const std::string& path, const std::string& text) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file);
  REQUIRE(gzwrite(file, text.data(), static_cast<unsigned>(text.size())) ==
          static_cast<int>(text.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

bool is_one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

struct Log {
  Log() { testing::write_file(path, lines({1, 2, 3, 4, 5, 6, 7})); }
  CommandResult operator()(std::vector<std::string> args) const {
    args.insert(args.begin(), {"audit", path});
    return run_authsvc(args);
  }
  TempDir dir;
  std::string path = dir.file("audit.log");
};

}  // namespace

TEST_CASE("audit prints the lines that match as they are, byte for byte") {
  Log log;
  struct Case {
    std::vector<std::string> args;
    std::string out;
  };
  for (const Case& c : std::vector<Case>{
           {{}, lines({1, 2, 3, 4, 5, 6, 7})},
           {{"--user", "alice"}, lines({1, 2, 4, 5, 6})},
           {{"--user", "nobody"}, ""},
           {{"--decision", "deny"}, lines({2, 5, 6, 7})},
           {{"--decision", "allow"}, lines({1, 3, 4})},
           {{"--decision", "deny", "--rule", "default-deny"}, lines({2, 6})},
           {{"--user", "alice", "--decision", "deny", "--endpoint", "resource"}, lines({2, 6})},
           {{"--endpoint", "vhost"}, lines({7})},
           {{"--since", "2026-11-27T23:00:01Z", "--until", "2026-11-27T23:00:05.5Z"},
            lines({2, 3, 4, 5})},
           {{"--since", "2026-11-28T00:00:05.5+01:00"}, lines({6, 7})},
           {{"--since", "2026-11-28"}, ""},
       }) {
    CAPTURE(c.args.empty() ? "" : c.args[0]);
    CommandResult r = log(c.args);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out == c.out);
  }
}

TEST_CASE("audit reads rotated gzip logs and plain ones in the order given, and standard input") {
  TempDir dir;
  write_gzip(dir.file("audit.log.2.gz"), lines({1, 2, 3}));
  write_gzip(dir.file("audit.log.1"), lines({4, 5}));  // compressed, whatever the name
  testing::write_file(dir.file("audit.log"), lines({6, 7}));
  CommandResult r = run_authsvc({"audit", dir.file("audit.log.2.gz"), dir.file("audit.log.1"),
                                 dir.file("audit.log"), "--user", "alice"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == lines({1, 2, 4, 5, 6}));

  // No FILES: standard input, gzip or not; "-" names it among files.
  r = run_authsvc({"audit", "--user", "bob"}, {}, dir.file("audit.log.2.gz"));
  CHECK(r.exit_code == 0);
  CHECK(r.out == lines({3}));
  r = run_authsvc({"audit", "-", dir.file("audit.log"), "--user", "bob"}, {},
                  dir.file("audit.log.2.gz"));
  CHECK(r.exit_code == 0);
  CHECK(r.out == lines({3, 7}));
}

TEST_CASE("a line that is not an audit line stops audit: exit 1, one line naming file and line") {
  TempDir dir;
  struct Case {
    std::string text;
    bool gzip;
    std::string error;
  };
  const std::string good = lines({1, 2});
  for (const Case& c : std::vector<Case>{
           {good + "not json\n" + lines({3}), false, ":3: not an audit line: not a JSON object\n"},
           {good + "{\"user\":\"alice\"}\n", true, ":3: not an audit line: no \"ts\"\n"},
           {good + "\n", false, ":3: not an audit line: not a JSON object\n"},
           {good + kLines[0].substr(0, 40), false,
            ":3: not an audit line: invalid JSON at byte 41\n"},
           {good + std::string(1 << 21, ' ') + "\n", false,
            ":3: not an audit line: 1048576 bytes or longer\n"},
       }) {
    CAPTURE(c.error);
    std::string path = dir.file(c.gzip ? "bad.log.gz" : "bad.log");
    if (c.gzip) {
      write_gzip(path, c.text);
    } else {
      testing::write_file(path, c.text);
    }
    CommandResult r = run_authsvc({"audit", path, "--user", "alice"});
    CHECK(r.exit_code == 1);
    CHECK(is_one_line(r.err));
    CHECK(r.err == "authsvc: " + path + c.error);
    // What matched before it is printed; nothing after it.
    CHECK(r.out == lines({1, 2}));
  }
}

TEST_CASE("audit --summary counts the matching lines by user, rule and decision") {
  Log log;
  CommandResult r = log({"--summary"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        "USER     RULE            DECISION  COUNT\n"
        "alice    default-deny    deny          2\n"
        "alice    -               denied        1\n"
        "alice    -               ok            1\n"
        "alice    login           allow         1\n"
        "bob      no-vhost-grant  deny          1\n"
        "bob      own-exchange    allow         1\n"
        "(total)                                7\n");
  r = log({"--summary", "--decision", "deny", "--user", "bob"});
  CHECK(r.out ==
        "USER     RULE            DECISION  COUNT\n"
        "bob      no-vhost-grant  deny          1\n"
        "(total)                                1\n");
}

TEST_CASE("audit reads several nodes' logs: --node picks one, --summary counts by node") {
  TempDir dir;
  // Two nodes' files, and one written before nodes had names (Log's lines).
  const std::vector<std::string> one = {
      R"({"node":"pulse-1:8000","ts":"2026-11-27T23:01:00.000000Z","endpoint":"user","user":"alice","vhost":"","resource":"","name":"","permission":"","routing_key":"","ip":"","peer":"127.0.0.1:5000","decision":"allow","status":200,"rule":"login","reason":"token","credential":"current","us":90})",
      R"({"node":"pulse-1:8000","ts":"2026-11-27T23:01:01.000000Z","event":12,"actor":"cli","operator":"root","action":"user disable","user":"alice","detail":"","decision":"ok"})",
  };
  const std::vector<std::string> two = {
      R"({"node":"pulse-2:8000","ts":"2026-11-27T23:01:01.000000Z","event":12,"actor":"cli","operator":"root","action":"user disable","user":"alice","detail":"","decision":"ok"})",
      R"({"node":"pulse-2:8000","ts":"2026-11-27T23:01:02.000000Z","endpoint":"user","user":"alice","vhost":"","resource":"","name":"","permission":"","routing_key":"","ip":"","peer":"127.0.0.1:5000","decision":"deny","status":200,"rule":"disabled-user","reason":"disabled","credential":"","us":20})",
  };
  auto text = [](const std::vector<std::string>& of) {
    std::string joined;
    for (const std::string& line : of) joined += line + "\n";
    return joined;
  };
  testing::write_file(dir.file("pulse-1.log"), text(one));
  write_gzip(dir.file("pulse-2.log.gz"), text(two));
  testing::write_file(dir.file("old.log"), lines({1, 2, 3, 4, 5, 6, 7}));
  const std::vector<std::string> files = {dir.file("old.log"), dir.file("pulse-1.log"),
                                          dir.file("pulse-2.log.gz")};
  auto audit = [&](std::vector<std::string> args) {
    args.insert(args.begin(), files.begin(), files.end());
    args.insert(args.begin(), "audit");
    return run_authsvc(args);
  };

  // Store event 12 is in both nodes' logs (written before one node
  // exported them all, or again by an exporter that took over): shown
  // once, as the first file read has it.
  CommandResult r = audit({});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == lines({1, 2, 3, 4, 5, 6, 7}) + text(one) + two[1] + "\n");

  // A node's own log shows its copy.
  r = audit({"--node", "pulse-2:8000"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == text(two));
  r = audit({"--node", "pulse-1:8000", "--decision", "allow", "--endpoint", "user"});
  CHECK(r.out == one[0] + "\n");
  r = audit({"--node", "pulse-1"});  // the whole name
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());

  r = audit({"--user", "alice", "--summary"});
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        "NODE          USER   RULE           DECISION  COUNT\n"
        "-             alice  default-deny   deny          2\n"
        "-             alice  -              denied        1\n"
        "-             alice  -              ok            1\n"
        "-             alice  login          allow         1\n"
        "pulse-1:8000  alice  -              ok            1\n"
        "pulse-1:8000  alice  login          allow         1\n"
        "pulse-2:8000  alice  disabled-user  deny          1\n"
        "(total)                                           8\n");
  // One node's lines alone: no NODE column.
  r = audit({"--summary", "--node", "pulse-1:8000"});
  CHECK(r.out ==
        "USER     RULE   DECISION  COUNT\n"
        "alice    -      ok            1\n"
        "alice    login  allow         1\n"
        "(total)                       2\n");
}

TEST_CASE("audit: a file it cannot read is exit 1 before any output, bad options exit 2") {
  Log log;
  TempDir dir;
  CommandResult r = run_authsvc({"audit", log.path, dir.file("missing.log")});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "authsvc: cannot read '" + dir.file("missing.log") + "': No such file or directory\n");
  testing::write_file(dir.file("cut.gz"), "\x1f\x8b\x08");
  r = run_authsvc({"audit", dir.file("cut.gz")});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "authsvc: cannot read '" + dir.file("cut.gz") + "': gzip data cut short\n");

  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--decision", "ok"},
                                             {"--since", "yesterday"},
                                             {"--until", "never"},
                                             {"--since", "2026-11-28", "--until", "2026-11-27"},
                                             {"--since", "1h", "--until", "1h"},
                                             {"--frobnicate"}}) {
    CAPTURE(args[0]);
    r = log(args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK_FALSE(r.err.empty());
  }
  r = log({"--since", "soon"});
  CHECK(r.err.rfind("authsvc: --since: 'soon' is not a time: ", 0) == 0);
  CHECK(is_one_line(r.err));
}

}  // namespace authsvc
