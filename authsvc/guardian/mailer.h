#pragma once
// Sending the guardian's e-mails: plain-text notes to queue owners, sent
// through an SMTP server with libcurl.
//
//   MailServer server;
//   server.url = "smtp://127.0.0.1:25";
//   server.from = "pulse-guardian@example.org";
//   SmtpMailer mailer(server);
//   mailer.send({.to = "alice@example.org", .subject = "Your queue is filling up",
//                .body = "queue/alice/jobs holds 9,000 messages.\n"});
//
// Recipients' addresses and the subject come from user data (the e-mail a
// user registered, queue names), so format_message refuses what could
// inject a header or a recipient: control characters (CR and LF above all)
// in the addresses and the subject, and addresses that are not a plain
// local@domain. A subject with non-ASCII characters is RFC 2047-encoded;
// the body is UTF-8 text/plain, sent as 7bit if it is short-lined ASCII and
// as quoted-printable otherwise, so that it passes any server (8BITMIME or
// not). libcurl dot-stuffs the message on the wire.
//
// TLS: smtps:// is TLS from the start; smtp:// with require_starttls must
// upgrade with STARTTLS or fail; both verify the server's certificate and
// host name against the system's CAs. smtp:// without require_starttls
// never attempts STARTTLS: it is meant for a relay on the same machine, and
// an opportunistic attempt (libcurl's CURLUSESSL_TRY) would fail outright
// against the self-signed certificate Debian's postfix offers by default,
// while protecting nothing from an attacker who can strip the offer. For
// the same reason a password is refused over smtp:// to another host
// without require_starttls: it would cross the network in clear.

#include <chrono>
#include <string>
#include <string_view>

#include "authsvc/core/error.h"

namespace authsvc {

// Refused mails (bad address, injection attempt), bad server settings, and
// failed sends (connection, TLS, authentication, a rejected recipient, a
// timeout). Messages never contain the password. kind() says what the
// failure tells about sending again.
class MailError : public Error {
 public:
  enum class Kind {
    // The mail server could not be used: no connection, TLS, a timeout,
    // authentication, a greeting or sender refused, 421 (closing), bad
    // settings. Nothing was learnt about this mail; the next one would
    // likely fail the same way.
    server,
    // The server turned this mail down for now: a 4xx reply to its
    // recipient or its content (a full mailbox, greylisting).
    deferred,
    // This mail cannot go: a 5xx reply to its recipient or its content (no
    // such mailbox), or format_message refused it.
    rejected,
  };
  MailError(const std::string& what, Kind kind) : Error(what), kind_(kind) {}
  Kind kind() const { return kind_; }
  // Sending it again will not help.
  bool permanent() const { return kind_ == Kind::rejected; }

 private:
  Kind kind_;
};

const char* to_string(MailError::Kind kind);

// How SmtpMailer classes a failed SMTP exchange, from the verb of the last
// command it sent ("MAIL", "RCPT", "DATA", ...; "" before the first) and
// the server's last reply code (0 if none): a 4xx or 5xx to RCPT or DATA
// is about this mail (deferred, rejected); anything else, and 421 always,
// is about the server.
MailError::Kind smtp_failure_kind(std::string_view last_command, long reply_code);

struct MailServer {
  std::string url;   // smtp://host[:port] or smtps://host[:port]
  std::string from;  // envelope sender and From: header, a plain local@domain
  bool require_starttls = false;
  std::string user;  // AUTH only if non-empty
  std::string password;
  // For the whole exchange with the server, connecting included.
  std::chrono::milliseconds timeout{30000};
};

struct Mail {
  std::string to;  // one plain local@domain
  std::string subject;
  std::string body;  // UTF-8; "\n", "\r\n" or "\r" line endings
};

// Sends mails; implementations throw MailError on failure, of the kind
// that fits. The guardian takes a Mailer, so its tests can record mails
// instead.
class Mailer {
 public:
  virtual ~Mailer() = default;
  virtual void send(const Mail& mail) = 0;
};

// One SMTP transaction per send(), on its own connection. Safe to use from
// several threads at once.
class SmtpMailer : public Mailer {
 public:
  // Validates `server` (throws MailError); connects only when sending.
  explicit SmtpMailer(MailServer server);
  // Returns once the server accepted the mail for delivery.
  void send(const Mail& mail) override;

 private:
  MailServer server_;
};

// The message as sent (RFC 5322, CRLF line endings): Date (of `now`, UTC),
// From, To, Subject, Message-ID (<message_id>), MIME-Version, Content-Type,
// Content-Transfer-Encoding, Auto-Submitted (auto-generated, so that
// vacation responders stay quiet), a blank line, the body. Throws MailError
// if an address, the subject or the body is refused (see the top).
std::string format_message(const MailServer& server, const Mail& mail,
                           std::chrono::system_clock::time_point now, std::string_view message_id);

// Whether `address` is a plain ASCII local@domain that is safe in a header
// and an SMTP command: printable, no spaces, none of <>()[]\,;:" , one '@',
// a dot-atom local part, a domain of letters, digits, '-' and '.' labels,
// 254 characters at most.
bool is_valid_mail_address(std::string_view address);

}  // namespace authsvc
