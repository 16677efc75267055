// The pages (web_app.h): accounts, queues, API keys, admin. A change is a
// POST with the session's CSRF token; a change that makes a secret answers
// with the page that shows it, once; any other answers with a redirect to
// the page it changed (post/redirect/get), whose notice says what was done.
#include <fmt/format.h>

#include <charconv>

#include "authsvc/core/duration.h"
#include "authsvc/core/form.h"
#include "authsvc/core/json_line.h"
#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/web/web_error.h"
#include "authsvc/web/web_exchanges.h"
#include "authsvc/web/web_queues.h"
#include "authsvc/web/web_report.h"
#include "authsvc/web/web_request.h"

namespace authsvc {
namespace {

// "2026-12-31T00:00:00.000000Z" -> "2026-12-31 00:00 UTC"; "" stays "".
std::string human_time(const std::string& rfc3339) {
  if (rfc3339.size() < 16) return rfc3339;
  return rfc3339.substr(0, 10) + " " + rfc3339.substr(11, 5) + " UTC";
}

AccountRow row_of(const UserInfo& u, std::chrono::system_clock::time_point now) {
  AccountRow row;
  row.name = u.name;
  row.state = !u.active                                                ? "disabled"
              : !u.expires_at.empty() && has_passed(u.expires_at, now) ? "expired"
                                                                       : "active";
  row.expires = human_time(u.expires_at);
  row.legacy = u.credential != CredentialScheme::token;
  if (!u.previous_valid_until.empty() && !has_passed(u.previous_valid_until, now)) {
    row.grace_until = human_time(u.previous_valid_until);
  }
  row.owners = u.owners;
  return row;
}

std::vector<AccountRow> rows_of(const std::vector<UserInfo>& users,
                                std::chrono::system_clock::time_point now) {
  std::vector<AccountRow> rows;
  rows.reserve(users.size());
  for (const UserInfo& u : users) rows.push_back(row_of(u, now));
  return rows;
}

// What a redirect's ?notice= says: a fixed set, so that no one can put
// words on someone else's page through a link.
std::string notice_text(const Request& request) {
  std::string error;
  std::optional<Form> query = Form::decode(request.call.query, &error);
  const std::string_view* code = query ? query->find("notice") : nullptr;
  if (!code) return "";
  static const std::pair<std::string_view, std::string_view> kNotices[] = {
      {"owner-added", "The owner was added."},
      {"owner-removed", "The owner was removed."},
      {"account-deleted", "The account was deleted."},
      {"queue-deleted", "The queue was deleted."},
      {"key-revoked", "The API key was revoked."},
      {"account-disabled", "The account was disabled."},
      {"account-enabled", "The account was enabled."},
      {"access-ended", "Their sessions were ended and their API keys revoked."},
  };
  for (const auto& [key, text] : kNotices) {
    if (*code == key) return std::string(text);
  }
  return "";
}

PageFrame frame_with_notice(const Request& request, std::string title) {
  PageFrame frame = request.frame(std::move(title));
  frame.notice = notice_text(request);
  return frame;
}

std::string account_href(const std::string& name) { return "/accounts/" + path_segment(name); }

// The broker URL with the user in it, e.g. amqps://alice-app:TOKEN@host:5671/.
std::string connection_url(const std::string& broker_url, const std::string& user,
                           const std::string& password) {
  std::size_t scheme_end = broker_url.find("://");
  if (scheme_end == std::string::npos) return broker_url;
  std::string url = broker_url.substr(0, scheme_end + 3) + form_encoded(user) + ":" + password +
                    "@" + broker_url.substr(scheme_end + 3);
  if (url.back() != '/') url += '/';
  return url;
}

SecretPage token_page(Request& request, std::string heading, const UserInfo& account,
                      const std::string& token) {
  SecretPage page;
  page.frame = request.frame(heading);
  page.heading = std::move(heading);
  page.account = account.name;
  page.secret = token;
  page.broker_url = request.state.options.broker_url;
  // The examples read the token from the environment: pasted into a script,
  // they do not put the secret into its text or a shell's history.
  std::string url = connection_url(page.broker_url, account.name, "{os.environ['PULSE_TOKEN']}");
  page.example_pika = fmt::format(
      "import os, pika\nconnection = pika.BlockingConnection(pika.URLParameters(f\"{}\"))", url);
  page.example_kombu = fmt::format("import os, kombu\nconnection = kombu.Connection(f\"{}\")", url);
  if (!account.previous_valid_until.empty() &&
      !has_passed(account.previous_valid_until, request.now)) {
    page.grace_until = human_time(account.previous_valid_until);
  }
  page.back_href = account_href(account.name);
  return page;
}

// The pages that show something answer GET (and HEAD) alone.
void require_read(const Request& request, const char* allowed) {
  if (!request.is("GET") && !request.is("HEAD"))
    throw WebError(405, fmt::format("use {}", allowed));
}

HttpAnswer signed_in_only(Request& request) {
  if (request.is("GET") || request.is("HEAD")) {
    return redirect_answer("/login?next=" + form_encoded(std::string(request.call.path)));
  }
  throw WebError(403, "not signed in: sign in, then try again");
}

// The rotate form's `replaces`: the current credential's issue time, or
// this for an imported password (which has none).
constexpr std::string_view kImported = "imported";

std::string credential_version(const UserInfo& account) {
  return account.credential_issued_at.empty() ? std::string(kImported)
                                              : account.credential_issued_at;
}

AccountPage account_page(Request& request, const UserInfo& account) {
  AccountPage page;
  page.frame = frame_with_notice(request, account.name);
  page.account = row_of(account, request.now);
  page.credential_issued = human_time(account.credential_issued_at);
  page.credential_version = credential_version(account);
  QueueListing queues = queues_of(request, {account});
  page.queues = std::move(queues.rows);
  page.queues_unavailable = std::move(queues.unavailable);
  ReportListing report = report_card_of(request, account);
  page.report = std::move(report.rows);
  page.report_unavailable = std::move(report.unavailable);
  return page;
}

// The account's page again, saying why a change to it was refused (a
// malformed address, the last owner): the forms are where the person is.
HttpAnswer account_page_with_error(Request& request, const UserInfo& account, const WebError& e) {
  AccountPage page = account_page(request, account);
  page.frame.error = e.what();
  return html_answer(e.status(), render(page));
}

// POST /accounts: on a refusal, the form again with what was typed.
HttpAnswer create_account(Request& request) {
  request.action = "account create";
  require_csrf(request, request.field("csrf"));
  std::string name = request.field("name");
  std::string expires = request.field("expires");
  request.user = name;
  try {
    count_change(request);
    SelfService self = request.self_service();
    std::string token = self.create(name, expires);
    request.detail = expires.empty() ? "" : "expires " + printable(expires);
    return html_answer(200, render(token_page(request, fmt::format("Account {} created", name),
                                              self.my_account(name), token)));
  } catch (const WebError& e) {
    if (e.status() != 400 && e.status() != 403 && e.status() != 409) throw;
    NewAccountPage page{request.frame("New account"), name, expires};
    page.frame.error = e.what();
    request.detail = e.what();
    return html_answer(e.status(), render(page));
  }
}

HttpAnswer account_action(Request& request, const std::string& name,
                          const std::vector<std::string>& rest) {
  request.user = name;
  SelfService self = request.self_service();
  std::string what = rest.size() == 2 ? rest[0] + "/" + rest[1] : rest[0];
  if (what == "rotate") {
    request.action = "account rotate";
    require_csrf(request, request.field("csrf"));
    std::string grace = request.field("grace");
    UserInfo account = self.my_account(name);
    // A form without the field (a script's) rotates whatever is current.
    std::string replaces = request.field("replaces");
    std::optional<std::string> replacing;
    if (!replaces.empty()) replacing = replaces == kImported ? "" : replaces;
    count_change(request);
    std::string token;
    try {
      token = self.rotate(name, grace, replacing);
    } catch (const WebError& e) {
      if (e.status() != 409) throw;
      return account_page_with_error(request, account, e);
    }
    request.detail = "grace " + printable(grace.empty() ? "0" : grace);
    return html_answer(200, render(token_page(request, fmt::format("New token for {}", name),
                                              self.my_account(name), token)));
  }
  if (what == "owners") {
    request.action = "owner add";
    require_csrf(request, request.field("csrf"));
    std::string address = request.field("email");
    request.detail = printable(address);
    UserInfo account = self.my_account(name);
    try {
      self.add_owner(name, address);
    } catch (const WebError& e) {
      return account_page_with_error(request, account, e);
    }
    return redirect_answer(account_href(name) + "?notice=owner-added");
  }
  if (what == "owners/remove") {
    request.action = "owner remove";
    require_csrf(request, request.field("csrf"));
    std::string address = request.field("email");
    request.detail = printable(address);
    UserInfo account = self.my_account(name);
    try {
      self.remove_owner(name, address);
    } catch (const WebError& e) {
      return account_page_with_error(request, account, e);
    }
    // Having removed themselves, the account is no longer theirs to see.
    bool removed_self = ascii_lower(address) == ascii_lower(request.person->address);
    return redirect_answer(removed_self ? "/accounts?notice=owner-removed"
                                        : account_href(name) + "?notice=owner-removed");
  }
  if (what == "delete") {
    request.action = "account delete";
    require_csrf(request, request.field("csrf"));
    UserInfo account = self.my_account(name);
    if (request.field("confirm") != name) {
      AccountPage page = account_page(request, account);
      page.delete_error = "Type the account’s name to delete it.";
      page.frame.error = "Nothing was deleted: the name typed was not the account’s.";
      request.detail = "the name was not typed";
      return html_answer(400, render(page));
    }
    self.remove(name);
    return redirect_answer("/accounts?notice=account-deleted");
  }
  throw WebError(404, "no such page");
}

HttpAnswer accounts(Request& request) {
  const std::vector<std::string>& s = request.segments;
  if (s.size() == 1) {
    if (request.is("POST")) return create_account(request);
    require_read(request, "GET or POST");
    AccountsPage page{frame_with_notice(request, "My accounts"),
                      rows_of(request.self_service().my_accounts(), request.now)};
    return html_answer(200, render(page));
  }
  if (s.size() == 2 && s[1] == "new") {
    require_read(request, "GET");
    NewAccountPage page;
    page.frame = request.frame("New account");
    return html_answer(200, render(page));
  }
  const std::string& name = s[1];
  if (s.size() == 2) {
    require_read(request, "GET");
    request.user = name;
    return html_answer(200, render(account_page(request, request.self_service().my_account(name))));
  }
  if (!request.is("POST")) throw WebError(405, "use POST");
  std::vector<std::string> rest(s.begin() + 2, s.end());
  if (rest.size() > 2 || (rest.size() == 2 && !(rest[0] == "owners" && rest[1] == "remove"))) {
    throw WebError(404, "no such page");
  }
  return account_action(request, name, rest);
}

HttpAnswer queues(Request& request) {
  const std::vector<std::string>& s = request.segments;
  if (s.size() == 1) {
    require_read(request, "GET");
    QueueListing listing = queues_of(request, request.self_service().my_accounts());
    QueuesPage page{frame_with_notice(request, "My queues"), std::move(listing.rows),
                    std::move(listing.unavailable)};
    return html_answer(200, render(page));
  }
  if (s.size() == 2 && s[1] == "delete" && request.is("POST")) {
    request.action = "queue delete";
    require_csrf(request, request.field("csrf"));
    delete_queue_of(request, request.self_service().my_accounts(), request.field("vhost"),
                    request.field("name"));
    return redirect_answer("/queues?notice=queue-deleted");
  }
  throw WebError(404, "no such page");
}

// The directory, to any signed-in person: /exchanges, and
// /exchanges/VHOST/NAME (each a percent-encoded path segment).
HttpAnswer exchanges(Request& request) {
  const std::vector<std::string>& s = request.segments;
  if (s.size() != 1 && s.size() != 3) throw WebError(404, "no such page");
  require_read(request, "GET");
  ExchangeDirectoryListing listing = exchange_directory_of(request);
  if (s.size() == 1) {
    ExchangesPage page{frame_with_notice(request, "Exchanges"), {}, std::move(listing.unavailable)};
    for (const ExchangeEntry& entry : listing.entries)
      page.exchanges.push_back(exchange_row(entry));
    return html_answer(200, render(page));
  }
  if (!listing.unavailable.empty()) throw WebError(503, listing.unavailable);
  for (const ExchangeEntry& entry : listing.entries) {
    if (entry.exchange.vhost == s[1] && entry.exchange.name == s[2])
      return html_answer(200, render(exchange_page(entry, request.frame(""))));
  }
  throw WebError(404, "no such Pulse exchange");
}

std::vector<ApiKeyRow> key_rows(Request& request) {
  std::vector<ApiKeyRow> rows;
  for (const ApiKeyInfo& key : request.store->api_keys_of(request.person->address)) {
    rows.push_back(ApiKeyRow{key.id, key.label, human_time(key.created_at),
                             human_time(key.expires_at), human_time(key.last_used_at),
                             human_time(key.revoked_at)});
  }
  return rows;
}

ApiKeysPage api_keys_page(Request& request) {
  ApiKeysPage page{frame_with_notice(request, "API keys"), key_rows(request),
                   format_duration(request.state.options.api_key_lifetime)};
  page.newest_key = page.keys.empty() ? 0 : page.keys.front().id;
  return page;
}

HttpAnswer api_keys(Request& request) {
  const std::vector<std::string>& s = request.segments;
  if (s.size() == 1 && !request.is("POST")) {
    require_read(request, "GET or POST");
    return html_answer(200, render(api_keys_page(request)));
  }
  if (s.size() == 1) {
    request.action = "apikey create";
    require_csrf(request, request.field("csrf"));
    count_change(request);
    // A form without the field (a script's) makes a key whatever exists.
    std::optional<std::int64_t> newest_seen;
    if (std::string newest = request.field("newest"); !newest.empty()) {
      std::int64_t id = 0;
      auto [end, ec] = std::from_chars(newest.data(), newest.data() + newest.size(), id);
      if (ec != std::errc() || end != newest.data() + newest.size()) {
        throw WebError(400, "the form's newest key is not a number: reload the page");
      }
      newest_seen = id;
    }
    NewApiKey key;
    try {
      key = request.self_service().create_api_key(request.field("label"), request.field("expires"),
                                                  newest_seen);
    } catch (const WebError& e) {
      if (e.status() != 409) throw;
      ApiKeysPage page = api_keys_page(request);
      page.frame.error = e.what();
      return html_answer(409, render(page));
    }
    request.detail = fmt::format("key {}", key.info.id);
    SecretPage page;
    page.frame = request.frame("New API key");
    page.heading = fmt::format("API key {} created", key.info.id);
    page.secret = key.key;
    page.back_href = "/apikeys";
    return html_answer(200, render(page));
  }
  if (s.size() == 3 && s[2] == "revoke" && request.is("POST")) {
    request.action = "apikey revoke";
    require_csrf(request, request.field("csrf"));
    std::int64_t id = 0;
    auto [end, ec] = std::from_chars(s[1].data(), s[1].data() + s[1].size(), id);
    request.detail = fmt::format("key {}", printable(s[1]));
    if (ec != std::errc() || end != s[1].data() + s[1].size() ||
        !request.store->revoke_api_key(id, request.person->address)) {
      throw WebError(404, "no such API key");
    }
    return redirect_answer("/apikeys?notice=key-revoked");
  }
  throw WebError(404, "no such page");
}

HttpAnswer admin(Request& request) {
  const std::vector<std::string>& s = request.segments;
  // For anyone else, there is no such thing: before any other answer.
  if (!request.person->admin) throw WebError(404, "no such page");
  SelfService self = request.self_service();
  if (s.size() == 1) {
    require_read(request, "GET");
    AdminPage page;
    page.frame = frame_with_notice(request, "Admin");
    page.accounts = rows_of(self.all_accounts(), request.now);
    for (const ResourceKey& key : request.store->queue_exemptions()) {
      page.exemptions.push_back(ExemptionRow{key.vhost, key.name});
    }
    QueueListing unowned = unowned_queues(request);
    page.unowned_queues = std::move(unowned.rows);
    page.queues_unavailable = std::move(unowned.unavailable);
    return html_answer(200, render(page));
  }
  if (s.size() == 4 && s[1] == "accounts" && (s[3] == "disable" || s[3] == "enable") &&
      request.is("POST")) {
    bool enable = s[3] == "enable";
    request.action = enable ? "account enable" : "account disable";
    request.user = s[2];
    require_csrf(request, request.field("csrf"));
    self.set_active(s[2], enable);
    return redirect_answer(enable ? "/admin?notice=account-enabled"
                                  : "/admin?notice=account-disabled");
  }
  if (s.size() == 3 && s[1] == "access" && s[2] == "revoke" && request.is("POST")) {
    request.action = "web revoke";
    require_csrf(request, request.field("csrf"));
    const std::string address = request.field("email");
    WebAccessEnded ended = self.end_web_access(address);
    request.detail = fmt::format("{}: {} sessions ended, {} API keys revoked", printable(address),
                                 ended.sessions, ended.api_keys);
    return redirect_answer("/admin?notice=access-ended");
  }
  throw WebError(404, "no such page");
}

}  // namespace

HttpAnswer error_answer(Request& request, int status, const std::string& message) {
  if (!request.segments.empty() && request.segments[0] == "api") {
    std::string body;
    JsonLine(&body).add("error", message).finish();
    HttpAnswer answer{status, body + "\n", "application/json"};
    if (status == 401) answer.headers.emplace_back("WWW-Authenticate", "Bearer");
    return answer;
  }
  ErrorPage page{request.frame(fmt::format("Error {}", status)), status, message};
  return html_answer(status, render(page));
}

std::optional<HttpAnswer> route_pages(Request& request) {
  const std::vector<std::string>& s = request.segments;
  if (s.empty()) return std::nullopt;
  const std::string& top = s[0];
  if (top != "accounts" && top != "queues" && top != "exchanges" && top != "apikeys" &&
      top != "admin") {
    return std::nullopt;
  }
  if (!request.person) return signed_in_only(request);
  if (top == "accounts") return accounts(request);
  if (top == "queues") return queues(request);
  if (top == "exchanges") return exchanges(request);
  if (top == "apikeys") return api_keys(request);
  return admin(request);
}

}  // namespace authsvc
