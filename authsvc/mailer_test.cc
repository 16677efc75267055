#include "authsvc/mailer.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

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

std::string decode_base64(std::string_view in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    if (c == '=') break;
    bits = (bits << 6) | static_cast<std::uint32_t>(kAlphabet.find(c));
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return out;
}

// The text of a Subject header value made of "=?UTF-8?B?...?=" words
// folded with CRLF SP, as a reader decodes it (whitespace between encoded
// words is dropped, RFC 2047 section 6.2).
std::string decode_subject(const std::string& value) {
  std::string out;
  std::size_t at = 0;
  while ((at = value.find("=?UTF-8?B?", at)) != std::string::npos) {
    std::size_t end = value.find("?=", at + 10);
    out += decode_base64(value.substr(at + 10, end - at - 10));
    at = end + 2;
  }
  return out;
}

std::string decode_quoted_printable(const std::string& body) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '=') {
      out += body[i];
    } else if (body.compare(i + 1, 2, "\r\n") == 0) {
      i += 2;  // soft line break
    } else {
      out += static_cast<char>(std::stoi(body.substr(i + 1, 2), nullptr, 16));
      i += 2;
    }
  }
  return out;
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

// A loopback port nothing listens on: bound, never listening.
struct ClosedPort {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int port = -1;
  ClosedPort() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~ClosedPort() { close(fd); }
};

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
    std::string subject = "File d'attente pleine : «queue/élodie/tâches» — 😀";
    std::string m = format({.to = "a@b.org", .subject = subject, .body = "b"});
    CHECK_FALSE(has_bare_newline(m));
    std::string value = header(m, "Subject");
    CHECK(value.rfind("=?UTF-8?B?", 0) == 0);
    CHECK(decode_subject(value) == subject);
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
    // A long one: many words, none splitting a character.
    std::string long_subject;
    for (int i = 0; i < 40; ++i) long_subject += "é😀";
    std::string long_value =
        header(format({.to = "a@b.org", .subject = long_subject, .body = ""}), "Subject");
    CHECK(decode_subject(long_value) == long_subject);
    // Invalid UTF-8 is refused, and so is ASCII that looks like an encoded word... encoded.
    CHECK_THROWS_AS(format({.to = "a@b.org", .subject = "caf\xe9", .body = ""}), MailError);
    std::string tricky =
        header(format({.to = "a@b.org", .subject = "=?UTF-8?B?ZXZpbA==?=", .body = ""}), "Subject");
    CHECK(decode_subject(tricky) == "=?UTF-8?B?ZXZpbA==?=");
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
    std::string expected;
    for (char c : body) expected += c == '\n' ? std::string("\r\n") : std::string(1, c);
    CHECK(decode_quoted_printable(encoded) == expected);
    CHECK(encoded.find("d=C3=A9borde.=20\r\n") != std::string::npos);  // trailing space kept
    CHECK_THROWS_AS(format({.to = "a@b.org", .subject = "s", .body = "caf\xe9"}), MailError);
  }

  TEST_CASE("SmtpMailer refuses bad mail server settings") {
    auto server = [](std::string url, std::string from = "g@example.org") {
      return mail_server(std::move(url), std::move(from));
    };
    CHECK_THROWS_AS(SmtpMailer(server("http://127.0.0.1:25")), MailError);
    CHECK_THROWS_AS(SmtpMailer(server("127.0.0.1:25")), MailError);
    CHECK_THROWS_AS(SmtpMailer(server("smtp://u:p@127.0.0.1:25")), MailError);
    CHECK_THROWS_AS(SmtpMailer(server("smtp://127.0.0.1:25", "not an address")), MailError);
    MailServer remote_password = server("smtp://mail.example.org:587");
    remote_password.user = "guardian";
    remote_password.password = "s3cret";
    try {
      SmtpMailer mailer(remote_password);
      FAIL("accepted a password in clear");
    } catch (const MailError& e) {
      CHECK(std::string(e.what()).find("in clear") != std::string::npos);
      CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
    }
    remote_password.require_starttls = true;
    CHECK_NOTHROW(SmtpMailer{remote_password});
    remote_password.require_starttls = false;
    remote_password.url = "smtps://mail.example.org";
    CHECK_NOTHROW(SmtpMailer{remote_password});
    remote_password.url = "smtp://127.0.0.1:25";
    CHECK_NOTHROW(SmtpMailer{remote_password});
  }

  TEST_CASE("SmtpMailer delivers a mail to a real SMTP server (tests/e2e/smtp_sink.py)") {
    testing::TempDir dir;
    std::filesystem::create_directory(dir.path() / "mails");
    testing::ChildProcess sink({"/usr/bin/python3", AUTHSVC_SOURCE_DIR "/tests/e2e/smtp_sink.py",
                                "--dir", dir.file("mails")},
                               dir, "sink");
    std::string port = sink.await_first_line();
    MailServer server = mail_server("smtp://127.0.0.1:" + port);
    server.timeout = testing::scaled(server.timeout);
    SmtpMailer mailer(server);
    // Lines starting with a dot, one of them first and one a lone ".", which
    // would end the DATA early if libcurl did not dot-stuff.
    std::string body = ".first line starts with a dot\n.\nqueue/alice/jobs holds 9000 messages\n";
    mailer.send({.to = "alice@example.org", .subject = "Queue queue/alice/jobs", .body = body});

    std::string path = dir.file("mails/0001.json");
    REQUIRE(std::filesystem::exists(path));
    nlohmann::json stored = nlohmann::json::parse(testing::read_file(path));
    CHECK(stored["mail_from"] == "pulse-guardian@example.org");
    CHECK(stored["rcpt_tos"] == nlohmann::json::array({"alice@example.org"}));
    std::string content = stored["content"];
    CHECK_FALSE(has_bare_newline(content));
    CHECK(header(content, "From") == "pulse-guardian@example.org");
    CHECK(header(content, "To") == "alice@example.org");
    CHECK(header(content, "Subject") == "Queue queue/alice/jobs");
    CHECK(header(content, "Content-Type") == "text/plain; charset=utf-8");
    CHECK(header(content, "MIME-Version") == "1.0");
    CHECK(header(content, "Message-ID").find("@example.org>") != std::string::npos);
    CHECK(header(content, "Date").find(" +0000") != std::string::npos);
    CHECK(body_of(content) ==
          ".first line starts with a dot\r\n.\r\nqueue/alice/jobs holds 9000 messages\r\n");

    // A second mail is a second file, with a fresh Message-ID.
    mailer.send({.to = "bob@example.org", .subject = "Zweite Nachricht für bob", .body = "ok"});
    nlohmann::json second = nlohmann::json::parse(testing::read_file(dir.file("mails/0002.json")));
    CHECK(second["rcpt_tos"] == nlohmann::json::array({"bob@example.org"}));
    std::string second_content = second["content"];
    CHECK(decode_subject(header(second_content, "Subject")) == "Zweite Nachricht für bob");
    CHECK(header(second_content, "Message-ID") != header(content, "Message-ID"));
    CHECK(sink.stop() == 0);
  }

  TEST_CASE("a mail server that refuses connections is a prompt MailError") {
    ClosedPort closed;
    std::string port = std::to_string(closed.port);
    SmtpMailer mailer(mail_server("smtp://127.0.0.1:" + port));
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH_AS(mailer.send({.to = "alice@example.org", .subject = "s", .body = "b"}),
                         doctest::Contains("alice@example.org"), MailError);
    CHECK(std::chrono::steady_clock::now() - start < testing::scaled(std::chrono::seconds(2)));
  }
}

}  // namespace authsvc
