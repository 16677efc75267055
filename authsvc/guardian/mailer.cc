#include "authsvc/guardian/mailer.h"

#include <curl/curl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <vector>

#include "authsvc/core/text.h"
#include "authsvc/guardian/url.h"

namespace authsvc {
namespace {

constexpr std::string_view kCrlf = "\r\n";
// RFC 5322's hard limit is 998 octets a line; leave room for "Subject: ".
constexpr std::size_t kMaxSubject = 900;

bool is_atext(unsigned char c) {
  return std::isalnum(c) || std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

void check_no_controls(std::string_view s, const char* what, MailError::Kind kind) {
  if (has_control(s)) throw MailError(std::string(what) + " has a control character", kind);
}

// Standard base64 with padding (RFC 2047's "B" encoding).
std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string encode_subject(std::string_view subject) {
  if (subject.size() > kMaxSubject)
    throw MailError("the subject is too long", MailError::Kind::rejected);
  bool ascii = true;
  check_no_controls(subject, "the subject", MailError::Kind::rejected);
  for (unsigned char c : subject) ascii = ascii && c < 0x80;
  // Plain ASCII goes as is, unless it holds what a reader would take for
  // an encoded word.
  if (ascii && subject.find("=?") == std::string_view::npos) return std::string(subject);
  if (!is_valid_utf8(subject))
    throw MailError("the subject is not UTF-8", MailError::Kind::rejected);
  // RFC 2047 encoded words of at most 75 characters: 45 bytes of text make
  // 60 of base64, plus 12 of "=?UTF-8?B?" and "?=". Words end between
  // characters, never inside one; they are folded onto lines of their own.
  std::string out;
  for (std::size_t i = 0; i < subject.size();) {
    std::size_t end = i;
    while (end < subject.size()) {
      std::size_t n = utf8_sequence(subject.substr(end)).length;
      if (end + n - i > 45) break;
      end += n;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(subject.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

// The body's lines, whatever their endings were.
std::vector<std::string_view> split_lines(std::string_view body) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\r' && body[i] != '\n') continue;
    lines.push_back(body.substr(start, i - start));
    if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < body.size()) lines.push_back(body.substr(start));
  return lines;
}

// RFC 2045 quoted-printable, lines of at most 76 characters.
std::string quoted_printable(const std::vector<std::string_view>& lines) {
  std::string out;
  for (std::string_view line : lines) {
    std::size_t width = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      std::string piece;
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
        piece = static_cast<char>(c);
      } else {
        piece = {'=', kHexDigitsUpper[c >> 4], kHexDigitsUpper[c & 15]};
      }
      if (width + piece.size() > 75) {  // room for the soft break's '='
        out += "=\r\n";
        width = 0;
      }
      out += piece;
      width += piece.size();
    }
    out += kCrlf;
  }
  return out;
}

std::string rfc5322_date(std::chrono::system_clock::time_point now) {
  // fmt's chrono formatting is locale-independent unless asked ('L'), and
  // RFC 5322 wants English day and month names whatever the locale.
  return fmt::format("{:%a, %d %b %Y %H:%M:%S} +0000",
                     std::chrono::floor<std::chrono::seconds>(now));
}

std::string domain_of(std::string_view address) {
  return std::string(address.substr(address.rfind('@') + 1));
}

std::string new_message_id(const std::string& from) {
  unsigned char random[16];
  if (RAND_bytes(random, sizeof random) != 1)
    throw MailError("no random bytes for a Message-ID", MailError::Kind::server);
  std::string_view bytes(reinterpret_cast<const char*>(random), sizeof random);
  return hex_encode(bytes) + ".authsvc@" + domain_of(from);
}

void init_curl_once() {
  // curl_global_init is not thread-safe in every build; once per process,
  // never cleaned up (other threads may be mid-send at exit).
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) throw MailError("cannot initialize libcurl", MailError::Kind::server);
}

// The mail server URL: smtp(s)://host[:port][/domain for EHLO].
ServerUrl parse_mail_server_url(const std::string& url) {
  std::string error;
  std::optional<ServerUrl> u = parse_server_url(url, {"smtp", "smtps"}, &error);
  if (!u) {
    throw MailError(
        "mail server URL '" + redact_url(url) + "': " + error + "; expected smtp(s)://HOST[:PORT]",
        MailError::Kind::server);
  }
  return *u;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// What libcurl's debug callback tells of the exchange: the verb of the last
// command sent ("MAIL", "RCPT", "DATA") and the last line the server
// answered, which say what failed and why. The QUIT that libcurl sends
// after a failure, and its answer, are not what failed. Commands' arguments
// (AUTH's credentials among them) are not kept.
struct Exchange {
  std::string command;
  std::string reply;
  bool quitting = false;
};

int track_exchange(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  auto* x = static_cast<Exchange*>(user);
  std::string_view line(data, size);
  if (type == CURLINFO_HEADER_OUT) {
    std::string_view verb = line.substr(0, line.find_first_of(" \r\n"));
    if (verb == "QUIT") {
      x->quitting = true;
    } else {
      x->command = std::string(verb);
    }
  } else if (type == CURLINFO_HEADER_IN && !x->quitting) {
    // The server's words go into messages and the audit log: one short line.
    x->reply = std::string(line.substr(0, 200));
    for (char& c : x->reply) {
      if (is_control(static_cast<unsigned char>(c))) c = ' ';
    }
    while (!x->reply.empty() && x->reply.back() == ' ') x->reply.pop_back();
  }
  return 0;
}

struct Upload {
  std::string_view data;
  std::size_t at = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  std::size_t n = std::min(size * count, upload->data.size() - upload->at);
  std::memcpy(buffer, upload->data.data() + upload->at, n);
  upload->at += n;
  return n;
}

}  // namespace

const char* to_string(MailError::Kind kind) {
  switch (kind) {
    case MailError::Kind::server:
      return "server";
    case MailError::Kind::deferred:
      return "deferred";
    case MailError::Kind::rejected:
      return "rejected";
  }
  return "?";
}

MailError::Kind smtp_failure_kind(std::string_view last_command, long reply_code) {
  if (reply_code == 421) return MailError::Kind::server;  // the server is closing
  if (last_command == "RCPT" || last_command == "DATA") {
    if (reply_code >= 400 && reply_code <= 499) return MailError::Kind::deferred;
    if (reply_code >= 500 && reply_code <= 599) return MailError::Kind::rejected;
  }
  return MailError::Kind::server;
}

bool is_valid_mail_address(std::string_view address) {
  if (address.empty() || address.size() > 254) return false;
  std::size_t at = address.find('@');
  if (at == std::string_view::npos || address.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  std::string_view local = address.substr(0, at);
  std::string_view domain = address.substr(at + 1);
  if (local.empty() || local.size() > 64 || domain.empty()) return false;
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  for (unsigned char c : local) {
    if (!is_atext(c) && c != '.') return false;
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      if (label == 0 || label > 63 || domain[i - 1] == '-' || domain[i - label] == '-') {
        return false;
      }
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(domain[i])) || domain[i] == '-') {
      ++label;
    } else {
      return false;
    }
  }
  return true;
}

std::string format_message(const MailServer& server, const Mail& mail,
                           std::chrono::system_clock::time_point now, std::string_view message_id) {
  if (!is_valid_mail_address(server.from))
    throw MailError("the sender address is refused", MailError::Kind::server);
  if (!is_valid_mail_address(mail.to))
    throw MailError("the recipient address is refused", MailError::Kind::rejected);
  check_no_controls(message_id, "the Message-ID", MailError::Kind::server);
  if (message_id.find_first_of("<> ") != std::string_view::npos) {
    throw MailError("the Message-ID has '<', '>' or a space", MailError::Kind::server);
  }
  std::string subject = encode_subject(mail.subject);
  if (!is_valid_utf8(mail.body))
    throw MailError("the body is not UTF-8", MailError::Kind::rejected);
  std::vector<std::string_view> lines = split_lines(mail.body);
  bool plain = true;
  for (std::string_view line : lines) {
    if (line.size() > 998) plain = false;
    for (unsigned char c : line) {
      if ((is_control(c) && c != '\t') || c >= 0x80) plain = false;
    }
  }

  std::string m;
  m += "Date: " + rfc5322_date(now) + "\r\n";
  m += "From: " + server.from + "\r\n";
  m += "To: " + mail.to + "\r\n";
  m += "Subject: " + subject + "\r\n";
  m += "Message-ID: <" + std::string(message_id) + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += plain ? "Content-Transfer-Encoding: 7bit\r\n"
             : "Content-Transfer-Encoding: quoted-printable\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += kCrlf;
  if (plain) {
    for (std::string_view line : lines) {
      m += line;
      m += kCrlf;
    }
  } else {
    m += quoted_printable(lines);
  }
  return m;
}

SmtpMailer::SmtpMailer(MailServer server) : server_(std::move(server)) {
  ServerUrl url = parse_mail_server_url(server_.url);
  if (!is_valid_mail_address(server_.from)) {
    throw MailError("the sender address '" + server_.from + "' is refused",
                    MailError::Kind::server);
  }
  if (!server_.user.empty() && url.scheme == "smtp" && !server_.require_starttls &&
      !is_loopback(url.host)) {
    throw MailError("mail server " + server_.url +
                        ": a password would cross the network in clear; use smtps:// or "
                        "require STARTTLS",
                    MailError::Kind::server);
  }
  init_curl_once();
}

void SmtpMailer::send(const Mail& mail) {
  std::string message =
      format_message(server_, mail, std::chrono::system_clock::now(), new_message_id(server_.from));
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw MailError("cannot create a libcurl handle", MailError::Kind::server);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcpt(
      curl_slist_append(nullptr, ("<" + mail.to + ">").c_str()), curl_slist_free_all);
  if (!rcpt) throw MailError("out of memory", MailError::Kind::server);
  const std::string from = "<" + server_.from + ">";
  Upload upload{message};
  char error[CURL_ERROR_SIZE] = "";

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, server_.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // no *_proxy from the environment
  curl_easy_setopt(c, CURLOPT_USE_SSL,
                   static_cast<long>(server_.require_starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!server_.user.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, server_.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, server_.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(server_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(server_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: we are threaded
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  Exchange exchange;
  curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, track_exchange);
  curl_easy_setopt(c, CURLOPT_DEBUGDATA, &exchange);
  curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);  // for the callback only: it prints nothing

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    long code = 0;  // the last reply's, QUIT's aside
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    std::string why = error[0] != '\0' ? error : curl_easy_strerror(rc);
    if (code >= 400 && !exchange.reply.empty()) {
      why += " (the server said: " + exchange.reply + ")";
    } else if (code != 0) {
      why += " (last reply " + std::to_string(code) + ")";
    }
    throw MailError("sending mail to " + mail.to + " through " + server_.url + ": " + why,
                    smtp_failure_kind(exchange.command, code));
  }
}

}  // namespace authsvc
