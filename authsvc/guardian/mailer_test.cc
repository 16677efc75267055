#include "authsvc/guardian/mailer.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "tests/test_support.h"

namespace authsvc {
namespace {

MailServer mail_server(std::string url, std::string from = "pulse-guardian@example.org") {
  MailServer server;
  server.url = std::move(url);
  server.from = std::move(from);
  server.timeout = std::chrono::seconds(10);
  return server;
}

const MailServer kServer = mail_server("smtp://127.0.0.1:25");
// 2025-07-01T12:34:56Z, a Tuesday.
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1751373296));

std::string format(const Mail& mail) {
  return format_message(kServer, mail, kNow, "id1@example.org");
}

std::string headers_of(const std::string& message) {
  return message.substr(0, message.find("\r\n\r\n") + 2);
}
std::string body_of(const std::string& message) {
  return message.substr(message.find("\r\n\r\n") + 4);
}

bool has_bare_newline(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return true;
  }
  return false;
}

// The unfolded value of the first header `name`, or "<missing>".
std::string header(const std::string& message, const std::string& name) {
  std::string headers = "\r\n" + headers_of(message);
  std::size_t at = headers.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "<missing>";
  std::string value;
  for (std::size_t i = at + name.size() + 4; i < headers.size(); ++i) {
    if (headers.compare(i, 2, "\r\n") == 0) {
      if (i + 2 < headers.size() && headers[i + 2] == ' ') {  // folded: continues
        ++i;
        continue;
      }
      break;
    }
    value += headers[i];
  }
  return value;
}

// tests/e2e/smtp_sink.py on a free loopback port. It decodes every mail it
// receives with Python's email package and records the decoded subject,
// body and addresses, and every defect the parser or its own RFC 2047 and
// quoted-printable checks found; so the encoders in mailer.cc are checked
// against decoders that were not written with them.
class Sink {
 public:
  Sink() : process_(argv(dir_), dir_, "sink"), port_(process_.await_first_line()) {}

  SmtpMailer mailer() const {
    MailServer server = mail_server("smtp://127.0.0.1:" + port_);
    server.timeout = testing::scaled(server.timeout);
    return SmtpMailer(server);
  }

  // Sends `mail` through `mailer` and returns the sink's record of it.
  nlohmann::json send(SmtpMailer& mailer, const Mail& mail) {
    mailer.send(mail);  // returns once the sink answered 250, i.e. wrote the file
    char name[32];
    std::snprintf(name, sizeof name, "mails/%04d.json", ++received_);
    std::string path = dir_.file(name);
    REQUIRE(std::filesystem::exists(path));
    return nlohmann::json::parse(testing::read_file(path));
  }

  int stop() { return process_.stop(); }

 private:
  static std::vector<std::string> argv(const testing::TempDir& dir) {
    std::filesystem::create_directory(dir.path() / "mails");
    return {"/usr/bin/python3", AUTHSVC_SOURCE_DIR "/tests/e2e/smtp_sink.py", "--dir",
            dir.file("mails")};
  }

  testing::TempDir dir_;
  testing::ChildProcess process_;
  std::string port_;
  int received_ = 0;
};

// `text` with each "\n" made "\r\n": a body as the reader gets it back.
std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return out;
}

// What a reader decodes from `got` (a sink record) is what was sent, and
// neither the parser nor the sink found anything wrong with the message.
void check_intact(const nlohmann::json& got, const Mail& sent) {
  CAPTURE(got.dump());
  CHECK(got["subject"] == sent.subject);
  CHECK(got["body"] == crlf(sent.body));
  CHECK(got["to"] == sent.to);
  CHECK(got["defects"] == nlohmann::json::array());
  // 7-bit on the wire: the mailer never relies on SMTPUTF8 or 8BITMIME.
  std::string content = got["content"];
  for (unsigned char c : content) CHECK(c < 0x80);
  CHECK_FALSE(has_bare_newline(content));
}

// The MailError that `call` throws; a failed REQUIRE that says `if_none` if
// it throws none.
MailError thrown_mail_error(const char* if_none, const std::function<void()>& call) {
  std::optional<MailError> error;
  try {
    call();
  } catch (const MailError& e) {
    error = e;
  }
  REQUIRE_MESSAGE(error.has_value(), if_none);
  return *error;
}

}  // namespace

TEST_SUITE("mailer") {
  TEST_CASE("format_message writes the RFC 5322 headers and a CRLF body") {
    std::string m = format({.to = "alice@example.org",
                            .subject = "Your queue queue/alice/jobs is filling up",
                            .body = "Hello alice,\n\nthe queue holds 9000 messages.\n"});
    CHECK(m ==
          "Date: Tue, 01 Jul 2025 12:34:56 +0000\r\n"
          "From: pulse-guardian@example.org\r\n"
          "To: alice@example.org\r\n"
          "Subject: Your queue queue/alice/jobs is filling up\r\n"
          "Message-ID: <id1@example.org>\r\n"
          "MIME-Version: 1.0\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n"
          "Content-Transfer-Encoding: 7bit\r\n"
          "Auto-Submitted: auto-generated\r\n"
          "\r\n"
          "Hello alice,\r\n"
          "\r\n"
          "the queue holds 9000 messages.\r\n");
  }

  TEST_CASE("mail bodies get CRLF whatever their line endings, and a final one") {
    for (const char* body : {"a\nb", "a\r\nb\r\n", "a\rb\r", "a\n\rb"}) {
      CAPTURE(body);
      std::string m = format({.to = "a@b.org", .subject = "s", .body = body});
      CHECK_FALSE(has_bare_newline(m));
      std::string expected = std::string(body) == "a\n\rb" ? "a\r\n\r\nb\r\n" : "a\r\nb\r\n";
      CHECK(body_of(m) == expected);
    }
    CHECK(body_of(format({.to = "a@b.org", .subject = "s", .body = ""})) == "");
  }

  TEST_CASE("mail header injection through addresses or the subject is refused") {
    for (const char* to :
         {"alice@example.org\r\nBcc: eve@evil.org", "alice@example.org\nBcc: eve@evil.org",
          "alice@example.org>\r\nRCPT TO:<eve@evil.org", "Alice <alice@example.org>",
          "alice@example.org, eve@evil.org", "", "alice", "@example.org", "alice@", "a@b@c",
          "al ice@example.org", "alice@exa_mple.org", "alice@-example.org", "alice@example..org",
          ".alice@example.org", "al..ice@example.org", "al\"ice@example.org",
          "\xc3\xa9@example.org", "alice@example.org\t"}) {
      CAPTURE(to);
      CHECK_FALSE(is_valid_mail_address(to));
      CHECK_THROWS_AS(format({.to = to, .subject = "s", .body = "b"}), MailError);
    }
    for (const char* subject :
         {"hi\r\nBcc: eve@evil.org", "hi\nX: y", "hi\rX", "tab\there", "del\x7f"}) {
      CAPTURE(subject);
      CHECK_THROWS_AS(format({.to = "a@b.org", .subject = subject, .body = "b"}), MailError);
    }
    CHECK_THROWS_AS(format({.to = "a@b.org", .subject = std::string("nul\0x", 5), .body = "b"}),
                    MailError);
    CHECK_THROWS_AS(format({.to = "a@b.org", .subject = std::string(901, 'x'), .body = "b"}),
                    MailError);
    MailServer bad_from = kServer;
    bad_from.from = "guardian@example.org\r\nBcc: eve@evil.org";
    CHECK_THROWS_AS(
        format_message(bad_from, {.to = "a@b.org", .subject = "s", .body = "b"}, kNow, "id@x"),
        MailError);
    CHECK_THROWS_AS(format_message(kServer, {.to = "a@b.org", .subject = "s", .body = "b"}, kNow,
                                   "id@x>\r\nBcc: e@e.org"),
                    MailError);
  }

  TEST_CASE("plain mail addresses are accepted") {
    for (const char* ok : {"alice@example.org", "a.b+pulse@mail.example.org", "x@localhost",
                           "o'brien@example.org", "a_b-c@x-y.example.org", "1@2.3"}) {
      CAPTURE(ok);
      CHECK(is_valid_mail_address(ok));
    }
    CHECK(is_valid_mail_address(std::string(64, 'a') + "@" + std::string(63, 'b') + ".org"));
    CHECK_FALSE(is_valid_mail_address(std::string(65, 'a') + "@example.org"));
    CHECK_FALSE(is_valid_mail_address("a@" + std::string(64, 'b') + ".org"));
  }

  TEST_CASE("a non-ASCII mail subject is RFC 2047-encoded in short folded words") {
    std::vector<std::string> subjects = {"File d'attente pleine : «queue/élodie/tâches» — 😀"};
    // A long one: many words.
    std::string long_subject;
    for (int i = 0; i < 40; ++i) long_subject += "é😀";
    subjects.push_back(long_subject);
    // A 4-byte character at every offset from the end of a word's 45 bytes:
    // none may be split between two words (the sink decodes each word alone).
    for (int shift = 0; shift < 4; ++shift) {
      std::string s = "é" + std::string(shift, 'x');
      for (int i = 0; i < 20; ++i) s += "😀";
      subjects.push_back(s);
    }
    // ASCII that looks like an encoded word is encoded, or a reader would
    // decode it to something else ("evil").
    subjects.push_back("=?UTF-8?B?ZXZpbA==?=");

    Sink sink;
    SmtpMailer mailer = sink.mailer();
    for (const std::string& subject : subjects) {
      CAPTURE(subject);
      Mail mail{.to = "a@b.org", .subject = subject, .body = "b\n"};
      std::string m = format(mail);
      CHECK(header(m, "Subject").rfind("=?UTF-8?B?", 0) == 0);
      // Every header line is ASCII and every encoded word at most 75 characters.
      for (const std::string& line : testing::lines_of(headers_of(m))) {
        for (unsigned char c : line) CHECK(c < 0x80);
        std::size_t at = 0;
        while ((at = line.find("=?", at)) != std::string::npos) {
          std::size_t end = line.find("?=", at + 10);
          CHECK(end + 2 - at <= 75);
          at = end + 2;
        }
      }
      check_intact(sink.send(mailer, mail), mail);
    }
    CHECK(sink.stop() == 0);
    // Invalid UTF-8 is refused.
    CHECK_THROWS_AS(format({.to = "a@b.org", .subject = "caf\xe9", .body = ""}), MailError);
  }

  TEST_CASE("a non-ASCII or long-lined mail body is quoted-printable") {
    std::string body = "Bonjour Élodie,\n\nvotre file « tâches » déborde. \n" +
                       std::string(1200, 'x') + "\n.single dot line\n";
    std::string m = format({.to = "a@b.org", .subject = "s", .body = body});
    CHECK(header(m, "Content-Transfer-Encoding") == "quoted-printable");
    std::string encoded = body_of(m);
    for (const std::string& line : testing::lines_of(encoded)) {
      CHECK(line.size() <= 77);  // 76 and the '\r'
      for (unsigned char c : line) CHECK(c < 0x80);
    }
    CHECK(encoded.find("d=C3=A9borde.=20\r\n") != std::string::npos);  // trailing space kept
    CHECK_THROWS_AS(format({.to = "a@b.org", .subject = "s", .body = "caf\xe9"}), MailError);

    // What a reader decodes is what was written: long lines of 2- and
    // 4-byte characters (soft breaks must not split an =XX sequence),
    // trailing spaces and tabs (a relay may strip them unless encoded), a
    // '=' at a line's end, a lone dot.
    std::string many;
    for (int i = 0; i < 60; ++i) many += "é😀";
    std::vector<std::string> bodies = {
        body,
        many + "\n" + std::string(75, 'y') + "é\n",
        "trailing spaces   \ntrailing tab\t\nboth \t \n   \n=\nends with =\n.\nlast é",
        "é\n" + std::string(76, 'z') + "\n" + std::string(77, 'z') + " \n",
    };
    Sink sink;
    SmtpMailer mailer = sink.mailer();
    for (const std::string& b : bodies) {
      CAPTURE(b);
      std::string sent = b.ends_with('\n') ? b : b + "\n";  // the mailer ends the last line
      Mail mail{.to = "a@b.org", .subject = "Queue", .body = b};
      nlohmann::json got = sink.send(mailer, mail);
      mail.body = sent;
      check_intact(got, mail);
    }
    CHECK(sink.stop() == 0);
  }

  TEST_CASE("SmtpMailer refuses bad mail server settings") {
    auto server = [](std::string url, std::string from = "g@example.org") {
      return mail_server(std::move(url), std::move(from));
    };
    CHECK_THROWS_AS(SmtpMailer(server("http://127.0.0.1:25")), MailError);
    CHECK_THROWS_AS(SmtpMailer(server("127.0.0.1:25")), MailError);
    CHECK_THROWS_AS(SmtpMailer(server("smtp://u:p@127.0.0.1:25")), MailError);
    // The password never shows, even in the message about a bad URL.
    MailError in_url = thrown_mail_error("accepted credentials in the URL", [&] {
      SmtpMailer mailer(server("smtp://guardian:s3cret@127.0.0.1:25"));
    });
    CHECK(std::string(in_url.what()).find("credentials") != std::string::npos);
    CHECK(std::string(in_url.what()).find("s3cret") == std::string::npos);
    CHECK_THROWS_AS(SmtpMailer(server("smtp://127.0.0.1:25", "not an address")), MailError);
    MailServer remote_password = server("smtp://mail.example.org:587");
    remote_password.user = "guardian";
    remote_password.password = "s3cret";
    MailError in_clear = thrown_mail_error("accepted a password in clear",
                                           [&] { SmtpMailer mailer(remote_password); });
    CHECK(std::string(in_clear.what()).find("in clear") != std::string::npos);
    CHECK(std::string(in_clear.what()).find("s3cret") == std::string::npos);
    remote_password.require_starttls = true;
    CHECK_NOTHROW(SmtpMailer{remote_password});
    remote_password.require_starttls = false;
    remote_password.url = "smtps://mail.example.org";
    CHECK_NOTHROW(SmtpMailer{remote_password});
    remote_password.url = "smtp://127.0.0.1:25";
    CHECK_NOTHROW(SmtpMailer{remote_password});
    remote_password.url = "smtp://[::1]:25";
    CHECK_NOTHROW(SmtpMailer{remote_password});
  }

  TEST_CASE("SmtpMailer delivers a mail to a real SMTP server (tests/e2e/smtp_sink.py)") {
    Sink sink;
    SmtpMailer mailer = sink.mailer();
    // Plain ASCII, sent as is. Lines starting with a dot, one of them first
    // and one a lone ".", which would end the DATA early if libcurl did not
    // dot-stuff.
    Mail first{.to = "alice@example.org",
               .subject = "Queue queue/alice/jobs",
               .body = ".first line starts with a dot\n.\nqueue/alice/jobs holds 9000 messages\n"};
    nlohmann::json stored = sink.send(mailer, first);
    CHECK(stored["mail_from"] == "pulse-guardian@example.org");
    CHECK(stored["rcpt_tos"] == nlohmann::json::array({"alice@example.org"}));
    CHECK(stored["from"] == "pulse-guardian@example.org");
    check_intact(stored, first);
    std::string content = stored["content"];
    CHECK(header(content, "Subject") == "Queue queue/alice/jobs");
    CHECK(header(content, "Content-Type") == "text/plain; charset=utf-8");
    CHECK(header(content, "Content-Transfer-Encoding") == "7bit");
    CHECK(header(content, "MIME-Version") == "1.0");
    CHECK(header(content, "Message-ID").find("@example.org>") != std::string::npos);
    CHECK(header(content, "Date").find(" +0000") != std::string::npos);
    CHECK(body_of(content) ==
          ".first line starts with a dot\r\n.\r\nqueue/alice/jobs holds 9000 messages\r\n");

    // A second mail is a second file, with a fresh Message-ID.
    Mail second{.to = "bob@example.org", .subject = "Zweite Nachricht für bob", .body = "ok\n"};
    nlohmann::json again = sink.send(mailer, second);
    CHECK(again["rcpt_tos"] == nlohmann::json::array({"bob@example.org"}));
    check_intact(again, second);
    CHECK(header(again["content"].get<std::string>(), "Message-ID") !=
          header(content, "Message-ID"));
    CHECK(sink.stop() == 0);
  }

  TEST_CASE("a mail server that refuses connections is a prompt MailError about the server") {
    testing::LoopbackSocket closed(/*listening=*/false);
    std::string port = std::to_string(closed.port());
    SmtpMailer mailer(mail_server("smtp://127.0.0.1:" + port));
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH_AS(mailer.send({.to = "alice@example.org", .subject = "s", .body = "b"}),
                         doctest::Contains("alice@example.org"), MailError);
    CHECK(std::chrono::steady_clock::now() - start < testing::scaled(std::chrono::seconds(2)));
    MailError refused = thrown_mail_error("sent through a closed port", [&] {
      mailer.send({.to = "alice@example.org", .subject = "s", .body = "b"});
    });
    CHECK(refused.kind() == MailError::Kind::server);
    CHECK_FALSE(refused.permanent());
    // A mail format_message refuses is rejected before any connection.
    MailError injected = thrown_mail_error("sent a header injection", [&] {
      mailer.send({.to = "alice@example.org", .subject = "s\r\nBcc: eve@evil.org", .body = "b"});
    });
    CHECK(injected.kind() == MailError::Kind::rejected);
    CHECK(injected.permanent());
  }

  TEST_CASE("SMTP failures: 4xx or 5xx to RCPT or DATA are about the mail, the rest the server") {
    using Kind = MailError::Kind;
    CHECK(smtp_failure_kind("RCPT", 550) == Kind::rejected);
    CHECK(smtp_failure_kind("RCPT", 553) == Kind::rejected);
    CHECK(smtp_failure_kind("RCPT", 450) == Kind::deferred);
    CHECK(smtp_failure_kind("RCPT", 452) == Kind::deferred);
    CHECK(smtp_failure_kind("DATA", 554) == Kind::rejected);
    CHECK(smtp_failure_kind("DATA", 451) == Kind::deferred);
    // 421: the server is closing the connection, whatever it answered.
    CHECK(smtp_failure_kind("RCPT", 421) == Kind::server);
    CHECK(smtp_failure_kind("DATA", 421) == Kind::server);
    // The sender, the greeting, EHLO, STARTTLS, AUTH: the server's business.
    CHECK(smtp_failure_kind("MAIL", 550) == Kind::server);
    CHECK(smtp_failure_kind("", 554) == Kind::server);
    CHECK(smtp_failure_kind("EHLO", 500) == Kind::server);
    CHECK(smtp_failure_kind("STARTTLS", 454) == Kind::server);
    CHECK(smtp_failure_kind("AUTH", 535) == Kind::server);
    // No reply at all, or a good one before a timeout.
    CHECK(smtp_failure_kind("", 0) == Kind::server);
    CHECK(smtp_failure_kind("RCPT", 250) == Kind::server);
    CHECK(smtp_failure_kind("DATA", 354) == Kind::server);
  }

  TEST_CASE("a recipient the SMTP server rejects is a permanent MailError, and others still go") {
    testing::TempDir dir;
    std::filesystem::create_directory(dir.path() / "mails");
    testing::ChildProcess sink(
        {"/usr/bin/python3", AUTHSVC_SOURCE_DIR "/tests/e2e/smtp_sink.py", "--dir",
         dir.file("mails"), "--reject", "nobody@example.org", "--reject", "gone@example.org"},
        dir, "sink");
    std::string port = sink.await_first_line();
    SmtpMailer mailer(mail_server("smtp://127.0.0.1:" + port));
    for (const char* rejected : {"nobody@example.org", "gone@example.org"}) {
      CAPTURE(rejected);
      MailError e = thrown_mail_error("the sink took a mail for a rejected recipient", [&] {
        mailer.send({.to = rejected, .subject = "s", .body = "b"});
      });
      CHECK(e.kind() == MailError::Kind::rejected);
      CHECK(e.permanent());
      std::string message = e.what();
      CHECK(message.find(rejected) != std::string::npos);
      // The server's own words, as it said them.
      CHECK(message.find("550 5.1.1") != std::string::npos);
      CHECK(message.find("recipient rejected") != std::string::npos);
    }
    // The same server, the same mailer: a good recipient goes through.
    mailer.send({.to = "alice@example.org", .subject = "after a rejection", .body = "ok"});
    std::string path = dir.file("mails/0001.json");
    REQUIRE(std::filesystem::exists(path));
    nlohmann::json stored = nlohmann::json::parse(testing::read_file(path));
    CHECK(stored["rcpt_tos"] == nlohmann::json::array({"alice@example.org"}));
    CHECK(header(stored["content"], "Subject") == "after a rejection");
    // Nothing was kept for the rejected ones.
    CHECK_FALSE(std::filesystem::exists(dir.file("mails/0002.json")));
    CHECK(sink.stop() == 0);
  }
}

}  // namespace authsvc
