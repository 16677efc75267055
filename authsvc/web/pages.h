#pragma once
// The web's pages: plain values in, HTML out. Each page is a Mustache
// template (authsvc/web/templates/, compiled in) around what the app
// decided to show; every value is escaped by the template engine, and no
// page has inline script or style (the Content-Security-Policy allows
// `self` only): the style sheet and the one script are /static/ files.
//
// Forms post to the paths named in the route table (web_app.h); a
// form that changes something carries the session's CSRF token in a hidden
// field named `csrf`. Inputs keep the names scripts and browser tests rely
// on: name, expires, grace, email, confirm, label, vhost, address.

#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

// What every page shows around its content.
struct PageFrame {
  std::string title;         // the page's own title, e.g. "My accounts"
  std::string signed_in_as;  // the verified address; "" when signed out
  bool admin = false;        // shows the admin link
  bool dev_login = false;    // shows the banner: sign-in is not real
  std::string csrf;          // for the sign-out form (and every other form)
  std::string notice;        // a line saying what just happened, if anything
  std::string error;         // a line saying what went wrong, if anything
};

// GET / signed out: what this is, and a sign-in link to /login.
struct HomePage {
  PageFrame frame;
};

// GET /login with --dev-login: "sign in as ADDRESS", posting `address` and
// `state` to /login.
struct DevLoginPage {
  PageFrame frame;
  std::string state;
};

struct AccountRow {
  std::string name;
  std::string state;        // "active", "disabled", "expired"
  std::string expires;      // "" never, else e.g. "2026-12-31 00:00 UTC"
  bool legacy = false;      // logs in with a password imported from RabbitMQ
  std::string grace_until;  // "" unless a previous token still logs in
  std::vector<std::string> owners;
};

// GET /accounts.
struct AccountsPage {
  PageFrame frame;
  std::vector<AccountRow> accounts;
};

// GET /accounts/new, and again with an error: the values given are kept.
struct NewAccountPage {
  PageFrame frame;
  std::string name;
  std::string expires;
};

struct QueueRow {
  std::string account;  // the account the queue's name says owns it; "" unknown
  std::string vhost;
  std::string name;
  long long messages = 0;
  long long consumers = 0;
  long long warn_at = 0;  // the guardian's thresholds for it
  long long delete_at = 0;
  std::string guardian;  // "", "warned", "deleting"
  bool exempt = false;
  // The length limit the broker holds it to, when that is at or below the
  // deletion threshold (the guardian leaves it alone); 0: none such.
  long long bounded_at = 0;
};

// One line of an account's report card (guardian/report_card.h).
struct ReportRow {
  std::string subject;     // "Exchanges", "Messages", ...
  std::string obligation;  // "MUST", "SHOULD"
  std::string rule;
  std::string standing;  // "met", "NOT MET", "not seen"
  bool met = false;
  bool not_met = false;
  std::vector<std::string> evidence;
};

// GET /accounts/NAME: the account, its forms, its queues, its report card.
struct AccountPage {
  PageFrame frame;
  AccountRow account;
  std::string credential_issued;  // "" for an imported password
  // Which credential the rotate form replaces (its issue time, or
  // "imported"): a reload of the token page, which posts the form again,
  // must not rotate a second time.
  std::string credential_version;
  std::vector<QueueRow> queues;
  // Why the queues are not shown (the management API is not configured or
  // did not answer); "" when they are.
  std::string queues_unavailable;
  std::vector<ReportRow> report;
  std::string report_unavailable;  // why there is no report card, if so
  std::string delete_error;        // set when a delete's confirm did not match
};

// A new secret, shown once: after POST /accounts (a token), POST
// /accounts/NAME/rotate (a token), POST /apikeys (a key). The secret is in
// the element with id="token".
struct SecretPage {
  PageFrame frame;
  std::string heading;  // "Account alice-app created", ...
  std::string account;  // the account the token logs in as; "" for a key
  std::string secret;
  std::string broker_url;    // for a token: where to connect
  std::string example_pika;  // ready to paste, the user name in it
  std::string example_kombu;
  std::string grace_until;  // after a rotation with a grace
  std::string back_href;    // where to go on, e.g. /accounts/alice-app
};

// GET /queues.
struct QueuesPage {
  PageFrame frame;
  std::vector<QueueRow> queues;
  std::string queues_unavailable;
};

// A Pulse exchange in the directory (guardian/exchange_directory.h). Every
// field the publisher or the broker chose arrives escaped already
// (core/payload_sample.h); the template escapes it again for HTML.
struct ExchangeRow {
  std::string vhost;
  std::string name;
  std::string owner;
  std::string type;
  bool durable = false;
  std::string publish_rate;  // "2.4/s"; "" if the broker does not say
  std::string last_message;  // "2026-12-02 14:50:01 UTC"; "" none seen
  long long bindings = 0;
  std::string compliance;  // "ok", "not sampled yet", or what is wrong
  bool compliant = false;  // sampled, and nothing wrong
};

// A message as the exchange page shows it.
struct MessageView {
  std::string routing_key;
  std::vector<std::string> fields;  // the routing key's, by index from the left
  std::string content_type;         // "" none set
  std::string delivery_mode;        // "2 (persistent)", "none (transient)"
  long long size = 0;
  std::string payload;  // pretty-printed if JSON; escaped; cut to a few KiB
};

struct ViolationView {
  std::string kind;  // "not-json", ...
  bool must = false;
  std::string rule;  // quoted from the specification
  long long count = 0;
  std::string last_seen;
  std::string mailed;  // "" never
  MessageView example;
};

// GET /exchanges: the directory.
struct ExchangesPage {
  PageFrame frame;
  std::vector<ExchangeRow> exchanges;
  std::string exchanges_unavailable;
};

// GET /exchanges/VHOST/NAME: one exchange, its last message, its violations.
struct ExchangePage {
  PageFrame frame;
  ExchangeRow exchange;
  std::string problem;  // the exchange's own (type, durability); "" none
  bool sampled = false;
  long long inspected = 0;
  std::string first_seen;
  std::string routing_key_fields;  // "3 fields, always", "1 to 4 fields: ..."
  std::vector<std::string> json_keys;
  MessageView last;
  std::vector<ViolationView> violations;
};

struct ApiKeyRow {
  long long id = 0;
  std::string label;
  std::string created;
  std::string expires;    // "" never
  std::string last_used;  // "" never
  std::string revoked;    // "" not revoked
};

// GET /apikeys.
struct ApiKeysPage {
  PageFrame frame;
  std::vector<ApiKeyRow> keys;
  std::string key_lifetime;  // "90d": the longest, and the default
  // The newest key's id (0: none), which the form sends back: a form sent
  // twice (a reload of the new key's page) makes one key.
  std::int64_t newest_key = 0;
};

struct ExemptionRow {
  std::string vhost;
  std::string name;
};

// GET /admin.
struct AdminPage {
  PageFrame frame;
  std::vector<AccountRow> accounts;
  std::vector<ExemptionRow> exemptions;
  std::vector<QueueRow> unowned_queues;
  std::string queues_unavailable;
};

// Any error: 400 (with why), 403, 404, 409, 429, 500.
struct ErrorPage {
  PageFrame frame;
  int status = 500;
  std::string message;
};

std::string render(const HomePage& page);
std::string render(const DevLoginPage& page);
std::string render(const AccountsPage& page);
std::string render(const NewAccountPage& page);
std::string render(const AccountPage& page);
std::string render(const SecretPage& page);
std::string render(const QueuesPage& page);
std::string render(const ExchangesPage& page);
std::string render(const ExchangePage& page);
std::string render(const ApiKeysPage& page);
std::string render(const AdminPage& page);
std::string render(const ErrorPage& page);

// The static files under /static/: "style.css", "app.js"; nullptr for any
// other name. Their content type follows from the extension.
struct StaticFile {
  std::string_view name;
  std::string_view content_type;
  std::string_view content;
};
const StaticFile* find_static_file(std::string_view name);

}  // namespace authsvc
