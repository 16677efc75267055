#include "authsvc/web/pages.h"

#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "authsvc/web/embedded_web_files.h"
#include "tests/page_samples.h"

namespace authsvc {
namespace {

using namespace authsvc::testing;

// A start or end tag of the rendered HTML, read the way a browser tokenizes
// one. Values are HTML-escaped, so a '>' inside an attribute value means
// the escaping failed, and shows up as a broken tag.
struct Tag {
  std::string name;  // lower case; "/form" for an end tag
  std::vector<std::pair<std::string, std::string>> attributes;
  bool every_value_double_quoted = true;
  std::size_t end = 0;  // just past '>'

  const std::string* attribute(std::string_view wanted) const {
    for (const auto& [attribute_name, value] : attributes) {
      if (attribute_name == wanted) return &value;
    }
    return nullptr;
  }
  std::string get(std::string_view wanted) const {
    const std::string* value = attribute(wanted);
    return value ? *value : "";
  }
};

// An attribute's value as the browser reads it, for the entities the
// escaping writes.
std::string unescaped(std::string_view text) {
  static const std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    for (const auto& [entity, c] : kEntities) {
      if (text.substr(i, entity.size()) == entity) {
        out += c;
        i += entity.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f'; }

std::vector<Tag> tags_of(const std::string& html) {
  std::vector<Tag> tags;
  std::size_t at = 0;
  while ((at = html.find('<', at)) != std::string::npos) {
    std::size_t i = at + 1;
    bool closing = i < html.size() && html[i] == '/';
    if (closing) ++i;
    if (i >= html.size() || !std::isalpha(static_cast<unsigned char>(html[i]))) {
      at = i;
      continue;
    }
    Tag tag;
    while (i < html.size() && !is_space(html[i]) && html[i] != '>' && html[i] != '/') {
      tag.name += static_cast<char>(std::tolower(static_cast<unsigned char>(html[i++])));
    }
    if (closing) tag.name = "/" + tag.name;
    while (i < html.size() && html[i] != '>') {
      if (is_space(html[i]) || html[i] == '/') {
        ++i;
        continue;
      }
      std::string name;
      while (i < html.size() && !is_space(html[i]) && html[i] != '>' && html[i] != '=') {
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(html[i++])));
      }
      std::string value;
      if (i < html.size() && html[i] == '=') {
        ++i;
        if (i < html.size() && html[i] == '"') {
          std::size_t close = html.find('"', i + 1);
          if (close == std::string::npos) close = html.size();
          value = unescaped(html.substr(i + 1, close - i - 1));
          i = close + 1;
        } else {
          tag.every_value_double_quoted = false;
          while (i < html.size() && !is_space(html[i]) && html[i] != '>') value += html[i++];
        }
      }
      tag.attributes.emplace_back(name, value);
    }
    tag.end = i + 1;
    at = tag.end;
    tags.push_back(std::move(tag));
  }
  return tags;
}

// A form as a browser would submit it: its method, action and the names of
// the fields in it.
struct Form {
  std::string method;
  std::string action;
  std::vector<Tag> fields;  // input, button, textarea, select

  const Tag* field(std::string_view name) const {
    for (const Tag& tag : fields) {
      if (tag.get("name") == name) return &tag;
    }
    return nullptr;
  }
};

std::vector<Form> forms_of(const std::string& html) {
  std::vector<Form> forms;
  bool inside = false;
  for (const Tag& tag : tags_of(html)) {
    if (tag.name == "form") {
      REQUIRE_FALSE(inside);  // a form inside a form is not HTML
      forms.push_back({tag.get("method"), tag.get("action"), {}});
      inside = true;
    } else if (tag.name == "/form") {
      REQUIRE(inside);
      inside = false;
    } else if (inside && (tag.name == "input" || tag.name == "button" || tag.name == "textarea" ||
                          tag.name == "select")) {
      forms.back().fields.push_back(tag);
    }
  }
  CHECK_FALSE(inside);
  return forms;
}

std::vector<const Form*> forms_to(const std::vector<Form>& forms, std::string_view action) {
  std::vector<const Form*> found;
  for (const Form& form : forms) {
    if (form.action == action) found.push_back(&form);
  }
  return found;
}

// The one form posting to `action`, with fields named `names`.
const Form& only_form(const std::vector<Form>& forms, std::string_view action,
                      std::initializer_list<std::string_view> names) {
  std::vector<const Form*> found = forms_to(forms, action);
  CAPTURE(action);
  REQUIRE(found.size() == 1);
  CHECK(found[0]->method == "post");
  for (std::string_view name : names) {
    CAPTURE(name);
    CHECK(found[0]->field(name) != nullptr);
  }
  return *found[0];
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::size_t count(const std::string& text, std::string_view part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++n;
  }
  return n;
}

// What every rendered page must be, whatever it shows: a document the
// Content-Security-Policy lets run unchanged (no inline script or style, no
// handler attributes), every attribute double-quoted (so that an escaped
// value cannot end one), the static script only, and every POST form
// carrying the CSRF token.
void check_page(const std::string& html, std::string_view csrf) {
  CAPTURE(html);
  CHECK(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
  CHECK(contains(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
  CHECK(contains(html, "<link rel=\"stylesheet\" href=\"/static/style.css\">"));
  CHECK(contains(html, "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">"));
  CHECK(contains(html, "<main id=\"main\""));
  CHECK_FALSE(contains(html, "<style"));
  std::vector<Tag> tags = tags_of(html);
  int scripts = 0;
  for (const Tag& tag : tags) {
    CAPTURE(tag.name);
    CHECK(tag.every_value_double_quoted);
    for (const auto& [name, value] : tag.attributes) {
      CAPTURE(name);
      CHECK(name != "style");
      CHECK_FALSE(name.starts_with("on"));
      CHECK(std::regex_match(name, std::regex("[a-z][a-z-]*")));
      if (name == "href" || name == "action" || name == "src") {
        CHECK_FALSE(value.starts_with("javascript:"));
      }
    }
    if (tag.name == "script") {
      ++scripts;
      CHECK(tag.get("src") == "/static/app.js");
      CHECK(tag.attribute("defer") != nullptr);
      CHECK(html.compare(tag.end, 9, "</script>") == 0);  // no body
    }
  }
  CHECK(scripts == 1);
  CHECK(std::regex_search(html, std::regex("<title>[^<]*Pulse accounts</title>")));
  for (const Form& form : forms_of(html)) {
    CAPTURE(form.action);
    CHECK((form.method == "post" || form.method == "get"));
    CHECK(form.action.starts_with("/"));
    if (form.method != "post") continue;
    const Tag* token = form.field("csrf");
    REQUIRE(token != nullptr);
    CHECK(token->get("type") == "hidden");
    CHECK(token->get("value") == csrf);
  }
}

template <typename Page>
Page signed_in() {
  Page page;
  page.frame = sample_frame();
  return page;
}

template <typename Page>
std::string checked(const Page& page) {
  std::string html = render(page);
  check_page(html, page.frame.csrf);
  return html;
}

TEST_CASE("every page renders as a document the CSP allows, its POST forms with the CSRF token") {
  checked(sample_home());
  checked(sample_dev_login());
  checked(sample_accounts_page());
  checked(sample_new_account());
  checked(sample_account_page());
  checked(sample_secret());
  checked(sample_queues_page());
  checked(sample_exchanges_page());
  checked(sample_exchange_page());
  checked(sample_api_keys());
  checked(sample_admin());
  checked(sample_error());
  // Empty, and with the branches the samples above do not take.
  checked(signed_in<AccountsPage>());
  AccountPage legacy = signed_in<AccountPage>();
  legacy.account = sample_accounts()[1];
  checked(legacy);
  QueuesPage no_broker = signed_in<QueuesPage>();
  no_broker.queues_unavailable = "The broker did not answer.";
  checked(no_broker);
  checked(signed_in<ApiKeysPage>());
  checked(signed_in<AdminPage>());
  checked(ErrorPage{});
  SecretPage key = signed_in<SecretPage>();
  key.heading = "API key created";
  key.secret = "k";
  checked(key);
}

TEST_CASE("the layout: title, navigation for who is signed in, sign-out, banners, flash lines") {
  AccountsPage page = sample_accounts_page();
  std::string html = checked(page);
  CHECK(contains(html, "<title>My accounts · Pulse accounts</title>"));
  CHECK(contains(html, "<header"));
  CHECK(contains(html, ">Pulse accounts</a>"));
  CHECK(contains(html, "<nav"));
  CHECK(contains(html, "<a href=\"/accounts\" aria-current=\"page\">My accounts</a>"));
  CHECK(contains(html, "<a href=\"/queues\">Queues</a>"));
  CHECK(contains(html, "<a href=\"/apikeys\">API keys</a>"));
  CHECK(contains(html, "<a href=\"/admin\">Admin</a>"));
  CHECK(contains(html, "alice@mozilla.com"));
  only_form(forms_of(html), "/logout", {"csrf"});
  CHECK_FALSE(contains(html, "Development sign-in"));
  CHECK_FALSE(contains(html, "role=\"status\""));
  CHECK_FALSE(contains(html, "role=\"alert\""));

  page.frame.admin = false;
  CHECK_FALSE(contains(render(page), "/admin"));

  page.frame.dev_login = true;
  page.frame.notice = "Account alice-app deleted.";
  page.frame.error = "That did not work.";
  html = checked(page);
  CHECK(contains(html,
                 ">Development sign-in: anyone can sign in as anyone. Never use this in "
                 "production.</p>"));
  CHECK(std::regex_search(html, std::regex("role=\"status\">Account alice-app deleted.</div>")));
  CHECK(std::regex_search(html, std::regex("role=\"alert\">That did not work.</div>")));

  // Signed out: no navigation, no sign-out.
  html = checked(sample_home());
  CHECK(contains(html, "<title>Pulse accounts</title>"));
  CHECK_FALSE(contains(html, "<nav"));
  CHECK(forms_of(html).empty());
  CHECK(contains(html, "class=\"button button-primary button-large\" href=\"/login\">Sign in</a>"));

  // The banner is on every page when the sign-in is not real.
  AccountPage account = sample_account_page();
  account.frame.dev_login = true;
  CHECK(contains(render(account), "Development sign-in: anyone can sign in as anyone."));
  CHECK(contains(render(sample_dev_login()), "Development sign-in: anyone can sign in as anyone."));
}

TEST_CASE("the sign-in and account pages have their forms, with the exact paths and names") {
  std::vector<Form> forms = forms_of(checked(sample_dev_login()));
  const Form& login = only_form(forms, "/login", {"csrf", "state", "address"});
  CHECK(login.field("state")->get("type") == "hidden");
  CHECK(login.field("state")->get("value") == "st4te-8Jf2kQ0pXc");
  CHECK(login.field("address")->get("type") == "email");

  std::string html = checked(sample_accounts_page());
  CHECK(contains(html, "href=\"/accounts/alice-app\">alice-app</a>"));
  CHECK(contains(html, "href=\"/accounts/new\""));
  CHECK(contains(html, "<th scope=\"col\">Name</th>"));
  CHECK(contains(html, "<th scope=\"row\">"));
  CHECK(count(html, "legacy password") == 1);
  CHECK(contains(html, "2025-06-02 14:30 UTC"));
  CHECK(contains(html, "carol@mozilla.com"));
  CHECK(contains(html, "class=\"badge badge-disabled\">disabled<"));
  CHECK(contains(html, "class=\"badge badge-expired\">expired<"));
  AccountsPage none;
  none.frame = sample_frame();
  html = checked(none);
  CHECK(contains(html, "No accounts yet"));
  CHECK_FALSE(contains(html, "<table"));

  NewAccountPage fresh = sample_new_account();
  forms = forms_of(checked(fresh));
  const Form& create = only_form(forms, "/accounts", {"csrf", "name", "expires"});
  CHECK(create.field("name")->get("value") == "2fast");  // kept on error
  CHECK(create.field("expires")->get("value") == "90d");

  AccountPage page = sample_account_page();
  html = checked(page);
  forms = forms_of(html);
  CHECK(only_form(forms, "/accounts/alice-app/rotate", {"csrf", "replaces", "grace"})
            .field("grace")
            ->get("type") == "text");
  CHECK(only_form(forms, "/accounts/alice-app/owners", {"csrf", "email"})
            .field("email")
            ->get("type") == "email");
  std::vector<const Form*> removes = forms_to(forms, "/accounts/alice-app/owners/remove");
  REQUIRE(removes.size() == 2);  // one for each owner
  CHECK(removes[0]->field("email")->get("type") == "hidden");
  CHECK(removes[0]->field("email")->get("value") == "alice@mozilla.com");
  CHECK(removes[1]->field("email")->get("value") == "bob@mozilla.com");
  CHECK(only_form(forms, "/accounts/alice-app/delete", {"csrf", "confirm"})
            .field("confirm")
            ->get("type") == "text");
  CHECK(contains(html, "2025-05-28 09:12 UTC"));
  CHECK(contains(html, "queue/alice-app/backlog"));
  CHECK(contains(html, ">7,342</td>"));
  CHECK(contains(html, "class=\"badge badge-warned\">warned<"));
  CHECK(forms_to(forms, "/queues/delete").empty());  // those are on /queues

  // One owner cannot be removed; a wrong confirmation is said beside it;
  // queues the broker did not give are said to be missing.
  page.account.owners = {"alice@mozilla.com"};
  page.delete_error = "Type alice-app to delete it.";
  page.queues_unavailable = "The broker's management API did not answer.";
  html = checked(page);
  CHECK(forms_to(forms_of(html), "/accounts/alice-app/owners/remove").empty());
  CHECK(std::regex_search(
      html, std::regex("aria-invalid=\"true\" aria-describedby=\"confirm-error\">"
                       "[\\s\\S]*id=\"confirm-error\">Type alice-app to delete it.<")));
  CHECK(contains(html, "The broker&apos;s management API did not answer."));
  CHECK_FALSE(contains(html, "queue/alice-app/backlog"));
}

TEST_CASE("the secret page shows the secret once, with what connecting needs") {
  SecretPage page = sample_secret();
  std::string html = checked(page);
  CHECK(contains(html, "<h1>Account alice-app created</h1>"));
  CHECK(contains(html, "<code id=\"token\">Zq3hT0yN8wVb6mKs1pXe4LrJ9uFd2GcA7oQi5EtWnRk</code>"));
  CHECK(contains(html, "Shown once only."));
  CHECK(contains(html, "amqps://pulse.mozilla.org:5671/"));
  CHECK(contains(html, "<dd><code>alice-app</code></dd>"));
  CHECK(contains(html, "<pre><code>import pika\nparams = pika.URLParameters(&quot;amqps://"));
  CHECK(contains(html, "<pre><code>from kombu import Connection\n"));
  CHECK(contains(html, "href=\"/accounts/alice-app\""));
  CHECK_FALSE(contains(html, "keeps logging in until"));
  page.grace_until = "2025-06-02 14:30 UTC";
  CHECK(contains(render(page), "keeps logging in until 2025-06-02 14:30 UTC"));

  // A key: no broker, no examples.
  SecretPage key = signed_in<SecretPage>();
  key.heading = "API key created";
  key.secret = "k3y";
  key.back_href = "/apikeys";
  html = checked(key);
  CHECK(contains(html, "<code id=\"token\">k3y</code>"));
  CHECK_FALSE(contains(html, "<pre>"));
  CHECK_FALSE(contains(html, "User name"));
  CHECK(contains(html, "href=\"/apikeys\""));

  // The way back only ever leads inside this site.
  for (std::string bad : {"javascript:alert(1)", "https://evil.example/", "//evil.example/", ""}) {
    CAPTURE(bad);
    key.back_href = bad;
    html = checked(key);
    CHECK(contains(html, "class=\"button button-primary\" href=\"/apikeys\">Done</a>"));
    if (!bad.empty()) CHECK_FALSE(contains(html, bad));
  }
}

TEST_CASE("the queues, API keys, admin and error pages have their forms and words") {
  std::string html = checked(sample_queues_page());
  std::vector<Form> forms = forms_of(html);
  std::vector<const Form*> deletes = forms_to(forms, "/queues/delete");
  REQUIRE(deletes.size() == 4);  // one a row
  for (const Form* form : deletes) {
    CHECK(form->method == "post");
    CHECK(form->field("vhost")->get("type") == "hidden");
    CHECK(form->field("vhost")->get("value") == "/");
    CHECK(form->field("name")->get("type") == "hidden");
  }
  CHECK(deletes[1]->field("name")->get("value") == "queue/alice-app/backlog");
  CHECK(contains(html, "<td class=\"num over\">7,342</td>"));
  CHECK(contains(html, "<td class=\"num\">200,000 <span class=\"muted\">/</span> 1,000,000</td>"));
  CHECK(contains(html, "class=\"badge badge-exempt\">exempt<"));
  CHECK(contains(html, "class=\"badge badge-bounded\">bounded at 5,000<"));
  CHECK(contains(html, "class=\"badge badge-deleting\">deleting<"));
  CHECK(contains(html, "<a href=\"/accounts/treeherder-ingest\">treeherder-ingest</a>"));
  QueuesPage no_broker = signed_in<QueuesPage>();
  no_broker.queues_unavailable = "No broker is set up.";
  html = checked(no_broker);
  CHECK(contains(html, "No broker is set up."));
  CHECK(forms_to(forms_of(html), "/queues/delete").empty());

  html = checked(sample_api_keys());
  forms = forms_of(html);
  CHECK(only_form(forms, "/apikeys", {"csrf", "newest", "label", "expires"})
            .field("newest")
            ->get("value") == "9");
  only_form(forms, "/apikeys/7/revoke", {"csrf"});
  only_form(forms, "/apikeys/9/revoke", {"csrf"});
  CHECK(forms_to(forms, "/apikeys/3/revoke").empty());  // revoked already
  CHECK(contains(html, "deploy script"));
  CHECK(contains(html, "2025-02-14 09:30 UTC"));

  html = checked(sample_admin());
  forms = forms_of(html);
  only_form(forms, "/admin/accounts/alice-app/disable", {"csrf"});
  only_form(forms, "/admin/accounts/alice-nightly/enable", {"csrf"});
  CHECK(only_form(forms, "/admin/access/revoke", {"csrf", "email"}).field("email")->get("type") ==
        "email");
  CHECK(forms_to(forms, "/admin/accounts/alice-nightly/disable").empty());
  CHECK(contains(html, "queue/taskcluster/claims"));
  CHECK(contains(html, "queue/deleted-user/events"));
  CHECK(contains(html, ">no owner<"));
  CHECK(contains(html, "aria-current=\"page\">Admin</a>"));
  // The accounts are listed, not linked: /accounts/NAME is their owners'
  // page, a 404 for an admin who is not one.
  CHECK(contains(html, "<span class=\"account-link\">alice-app</span>"));
  CHECK_FALSE(contains(html, "href=\"/accounts/"));

  for (auto [status, title] :
       std::vector<std::pair<int, std::string>>{{400, "Bad request"},
                                                {403, "Forbidden"},
                                                {404, "Not found"},
                                                {409, "Conflict"},
                                                {429, "Too many requests"},
                                                {500, "Something went wrong"}}) {
    CAPTURE(status);
    ErrorPage page = sample_error();
    page.status = status;
    html = checked(page);
    CHECK(contains(html, "<h1>" + title + "</h1>"));
    CHECK(contains(html, "<title>" + title + " · Pulse accounts</title>"));
    CHECK(contains(html, ">" + std::to_string(status) + "</p>"));
    CHECK(contains(html, "No account named bob-app is yours."));
    CHECK(contains(html, "href=\"/\">Go to the home page</a>"));
  }
}

TEST_CASE("path segments in links and form actions are percent-encoded") {
  const std::string name = "a/b?c#d e%f";
  const std::string path = "/accounts/a%2Fb%3Fc%23d%20e%25f";
  AccountsPage accounts = signed_in<AccountsPage>();
  accounts.accounts = {sample_account(name, "active", {"x@example.org"})};
  std::string html = checked(accounts);
  CHECK(contains(html, "href=\"" + path + "\">a/b?c#d e%f</a>"));

  AccountPage account = signed_in<AccountPage>();
  account.account = sample_account(name, "active", {"x@y.org", "z@y.org"});
  std::vector<Form> forms = forms_of(checked(account));
  for (std::string action : {"/rotate", "/owners", "/delete"}) only_form(forms, path + action, {});
  CHECK(forms_to(forms, path + "/owners/remove").size() == 2);

  AdminPage admin = signed_in<AdminPage>();
  admin.accounts = {sample_account(name, "disabled", {"x@y.org"})};
  forms = forms_of(checked(admin));
  only_form(forms, "/admin" + path + "/enable", {});

  QueueRow queue = sample_queue(name, "q", 1, 0);
  QueuesPage queues = signed_in<QueuesPage>();
  queues.queues = {queue};
  html = checked(queues);
  CHECK(contains(html, "<a href=\"" + path + "\">"));

  // Dots alone would be resolved as the folder and its parent.
  accounts.accounts[0].name = "..";
  CHECK(contains(render(accounts), "href=\"/accounts/%2E%2E\""));
}

// What each hostile string must become, from the library's html_escape:
// each of & < > " ' as an entity.
const std::string kHostile = "<script>alert(1)</script>\"onmouseover=\"x'&amp;</textarea>";
const std::string kEscaped =
    "&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover=&quot;x&apos;&amp;amp;&lt;/"
    "textarea&gt;";

void check_nothing_raw(const std::string& html, std::string_view csrf) {
  check_page(html, csrf);  // among others: one <script>, the static one
  CHECK_FALSE(contains(html, "<script>"));
  CHECK_FALSE(contains(html, "alert(1)</script>"));
  CHECK_FALSE(contains(html, "\"onmouseover=\""));
  CHECK_FALSE(contains(html, "</textarea>"));
  CHECK_FALSE(contains(html, "'"));                // the templates use ’ in their words
  CHECK_FALSE(contains(html, "&apos;&amp;&lt;"));  // & escaped once more
}

template <typename Page>
struct Field {
  std::string name;
  std::function<void(Page&, const std::string&)> set;
  bool shown = true;  // false: not on this page (kHostile may not appear at all)
};

// csrf_shown: false for a page without a form (signed out, the home page).
template <typename Page>
std::vector<Field<Page>> frame_fields(bool csrf_shown = true) {
  return {{"frame.title", [](Page& p, const std::string& s) { p.frame.title = s; }},
          {"frame.signed_in_as", [](Page& p, const std::string& s) { p.frame.signed_in_as = s; }},
          {"frame.csrf", [](Page& p, const std::string& s) { p.frame.csrf = s; }, csrf_shown},
          {"frame.notice", [](Page& p, const std::string& s) { p.frame.notice = s; }},
          {"frame.error", [](Page& p, const std::string& s) { p.frame.error = s; }}};
}

template <typename Page>
void add_account_fields(std::vector<Field<Page>>& fields, std::string prefix,
                        std::function<AccountRow&(Page&)> row, bool grace_shown = true) {
  fields.push_back({prefix + "name", [row](Page& p, const std::string& s) { row(p).name = s; }});
  fields.push_back({prefix + "state", [row](Page& p, const std::string& s) { row(p).state = s; }});
  fields.push_back(
      {prefix + "expires", [row](Page& p, const std::string& s) { row(p).expires = s; }});
  fields.push_back({prefix + "grace_until",
                    [row](Page& p, const std::string& s) { row(p).grace_until = s; }, grace_shown});
  fields.push_back(
      {prefix + "owners[1]", [row](Page& p, const std::string& s) { row(p).owners.at(1) = s; }});
}

template <typename Page>
void add_queue_fields(std::vector<Field<Page>>& fields, std::string prefix,
                      std::function<QueueRow&(Page&)> row, bool account_shown) {
  fields.push_back({prefix + "account",
                    [row](Page& p, const std::string& s) { row(p).account = s; }, account_shown});
  fields.push_back({prefix + "vhost", [row](Page& p, const std::string& s) { row(p).vhost = s; }});
  fields.push_back({prefix + "name", [row](Page& p, const std::string& s) { row(p).name = s; }});
  fields.push_back(
      {prefix + "guardian", [row](Page& p, const std::string& s) { row(p).guardian = s; }});
}

// kHostile in each field alone (the field must then show escaped), and in
// all of them at once.
template <typename Page>
void check_fields_escaped(const Page& sample, const std::vector<Field<Page>>& fields) {
  Page all = sample;
  for (const Field<Page>& field : fields) field.set(all, kHostile);
  check_nothing_raw(render(all), all.frame.csrf);
  for (const Field<Page>& field : fields) {
    CAPTURE(field.name);
    Page page = sample;
    field.set(page, kHostile);
    std::string html = render(page);
    check_nothing_raw(html, page.frame.csrf);
    if (field.shown) CHECK(contains(html, kEscaped));
  }
}

TEST_CASE("every text a page shows is escaped, in text and in attributes") {
  SUBCASE("home") { check_fields_escaped(sample_home(), frame_fields<HomePage>(false)); }
  SUBCASE("dev login") {
    auto fields = frame_fields<DevLoginPage>();
    fields.push_back({"state", [](DevLoginPage& p, const std::string& s) { p.state = s; }});
    check_fields_escaped(sample_dev_login(), fields);
  }
  SUBCASE("accounts") {
    auto fields = frame_fields<AccountsPage>();
    add_account_fields<AccountsPage>(fields, "accounts[0].",
                                     [](AccountsPage& p) -> AccountRow& { return p.accounts[0]; });
    check_fields_escaped(sample_accounts_page(), fields);
  }
  SUBCASE("new account") {
    auto fields = frame_fields<NewAccountPage>();
    fields.push_back({"name", [](NewAccountPage& p, const std::string& s) { p.name = s; }});
    fields.push_back({"expires", [](NewAccountPage& p, const std::string& s) { p.expires = s; }});
    check_fields_escaped(sample_new_account(), fields);
  }
  SUBCASE("account") {
    auto fields = frame_fields<AccountPage>();
    add_account_fields<AccountPage>(fields, "account.",
                                    [](AccountPage& p) -> AccountRow& { return p.account; });
    // This page's queues are the account's: no column says whose.
    add_queue_fields<AccountPage>(
        fields, "queues[1].", [](AccountPage& p) -> QueueRow& { return p.queues[1]; }, false);
    fields.push_back({"credential_issued",
                      [](AccountPage& p, const std::string& s) { p.credential_issued = s; }});
    fields.push_back({"credential_version",
                      [](AccountPage& p, const std::string& s) { p.credential_version = s; }});
    fields.push_back({"queues_unavailable",
                      [](AccountPage& p, const std::string& s) { p.queues_unavailable = s; }});
    fields.push_back(
        {"delete_error", [](AccountPage& p, const std::string& s) { p.delete_error = s; }});
    fields.push_back({"report[1].subject",
                      [](AccountPage& p, const std::string& s) { p.report[1].subject = s; }});
    fields.push_back({"report[1].obligation",
                      [](AccountPage& p, const std::string& s) { p.report[1].obligation = s; }});
    fields.push_back(
        {"report[1].rule", [](AccountPage& p, const std::string& s) { p.report[1].rule = s; }});
    fields.push_back({"report[1].standing",
                      [](AccountPage& p, const std::string& s) { p.report[1].standing = s; }});
    fields.push_back({"report[1].evidence[1]",
                      [](AccountPage& p, const std::string& s) { p.report[1].evidence[1] = s; }});
    fields.push_back({"report_unavailable",
                      [](AccountPage& p, const std::string& s) { p.report_unavailable = s; }});
    check_fields_escaped(sample_account_page(), fields);
  }
  SUBCASE("secret") {
    auto fields = frame_fields<SecretPage>();
    fields.push_back({"heading", [](SecretPage& p, const std::string& s) { p.heading = s; }});
    fields.push_back({"account", [](SecretPage& p, const std::string& s) { p.account = s; }});
    fields.push_back({"secret", [](SecretPage& p, const std::string& s) { p.secret = s; }});
    fields.push_back({"broker_url", [](SecretPage& p, const std::string& s) { p.broker_url = s; }});
    fields.push_back(
        {"example_pika", [](SecretPage& p, const std::string& s) { p.example_pika = s; }});
    fields.push_back(
        {"example_kombu", [](SecretPage& p, const std::string& s) { p.example_kombu = s; }});
    fields.push_back(
        {"grace_until", [](SecretPage& p, const std::string& s) { p.grace_until = s; }});
    // Not a link of this site: replaced (the secret page's test checks how).
    fields.push_back(
        {"back_href", [](SecretPage& p, const std::string& s) { p.back_href = s; }, false});
    check_fields_escaped(sample_secret(), fields);
  }
  SUBCASE("queues") {
    auto fields = frame_fields<QueuesPage>();
    add_queue_fields<QueuesPage>(
        fields, "queues[0].", [](QueuesPage& p) -> QueueRow& { return p.queues[0]; }, true);
    fields.push_back({"queues_unavailable",
                      [](QueuesPage& p, const std::string& s) { p.queues_unavailable = s; }});
    check_fields_escaped(sample_queues_page(), fields);
  }
  SUBCASE("exchanges") {
    auto fields = frame_fields<ExchangesPage>();
    auto row = [](ExchangesPage& p) -> ExchangeRow& { return p.exchanges[0]; };
    for (auto [name, member] :
         std::initializer_list<std::pair<const char*, std::string ExchangeRow::*>>{
             {"vhost", &ExchangeRow::vhost},
             {"name", &ExchangeRow::name},
             {"owner", &ExchangeRow::owner},
             {"type", &ExchangeRow::type},
             {"publish_rate", &ExchangeRow::publish_rate},
             {"last_message", &ExchangeRow::last_message},
             {"compliance", &ExchangeRow::compliance}}) {
      fields.push_back(
          {std::string("exchanges[0].") + name,
           [row, member](ExchangesPage& p, const std::string& s) { row(p).*member = s; }});
    }
    fields.push_back({"exchanges_unavailable", [](ExchangesPage& p, const std::string& s) {
                        p.exchanges.clear();
                        p.exchanges_unavailable = s;
                      }});
    check_fields_escaped(sample_exchanges_page(), fields);
  }
  SUBCASE("exchange") {
    auto fields = frame_fields<ExchangePage>();
    fields.push_back({"problem", [](ExchangePage& p, const std::string& s) { p.problem = s; }});
    fields.push_back(
        {"first_seen", [](ExchangePage& p, const std::string& s) { p.first_seen = s; }});
    fields.push_back({"routing_key_fields",
                      [](ExchangePage& p, const std::string& s) { p.routing_key_fields = s; }});
    fields.push_back(
        {"json_keys[0]", [](ExchangePage& p, const std::string& s) { p.json_keys[0] = s; }});
    fields.push_back(
        {"exchange.owner", [](ExchangePage& p, const std::string& s) { p.exchange.owner = s; }});
    fields.push_back({"last.routing_key",
                      [](ExchangePage& p, const std::string& s) { p.last.routing_key = s; }});
    fields.push_back(
        {"last.fields[1]", [](ExchangePage& p, const std::string& s) { p.last.fields[1] = s; }});
    fields.push_back({"last.content_type",
                      [](ExchangePage& p, const std::string& s) { p.last.content_type = s; }});
    fields.push_back(
        {"last.payload", [](ExchangePage& p, const std::string& s) { p.last.payload = s; }});
    fields.push_back({"violations[0].rule",
                      [](ExchangePage& p, const std::string& s) { p.violations[0].rule = s; }});
    fields.push_back({"violations[0].kind",
                      [](ExchangePage& p, const std::string& s) { p.violations[0].kind = s; }});
    fields.push_back({"violations[0].example.payload", [](ExchangePage& p, const std::string& s) {
                        p.violations[0].example.payload = s;
                      }});
    check_fields_escaped(sample_exchange_page(), fields);
  }
  SUBCASE("api keys") {
    auto fields = frame_fields<ApiKeysPage>();
    auto key = [](ApiKeysPage& p) -> ApiKeyRow& { return p.keys[0]; };
    fields.push_back(
        {"keys[0].label", [key](ApiKeysPage& p, const std::string& s) { key(p).label = s; }});
    fields.push_back(
        {"keys[0].created", [key](ApiKeysPage& p, const std::string& s) { key(p).created = s; }});
    fields.push_back(
        {"keys[0].expires", [key](ApiKeysPage& p, const std::string& s) { key(p).expires = s; }});
    fields.push_back({"keys[0].last_used",
                      [key](ApiKeysPage& p, const std::string& s) { key(p).last_used = s; }});
    fields.push_back(
        {"keys[0].revoked", [key](ApiKeysPage& p, const std::string& s) { key(p).revoked = s; }});
    fields.push_back(
        {"key_lifetime", [](ApiKeysPage& p, const std::string& s) { p.key_lifetime = s; }});
    check_fields_escaped(sample_api_keys(), fields);
  }
  SUBCASE("admin") {
    auto fields = frame_fields<AdminPage>();
    // The admin's table has no grace column.
    add_account_fields<AdminPage>(
        fields, "accounts[0].", [](AdminPage& p) -> AccountRow& { return p.accounts[0]; }, false);
    // Unowned queues have no account to show.
    add_queue_fields<AdminPage>(
        fields, "unowned_queues[0].", [](AdminPage& p) -> QueueRow& { return p.unowned_queues[0]; },
        false);
    fields.push_back({"exemptions[0].vhost",
                      [](AdminPage& p, const std::string& s) { p.exemptions[0].vhost = s; }});
    fields.push_back({"exemptions[0].name",
                      [](AdminPage& p, const std::string& s) { p.exemptions[0].name = s; }});
    fields.push_back({"queues_unavailable",
                      [](AdminPage& p, const std::string& s) { p.queues_unavailable = s; }});
    check_fields_escaped(sample_admin(), fields);
  }
  SUBCASE("error") {
    auto fields = frame_fields<ErrorPage>();
    fields.push_back({"message", [](ErrorPage& p, const std::string& s) { p.message = s; }});
    check_fields_escaped(sample_error(), fields);
  }
}

TEST_CASE("no template asks for an unescaped value or changes the delimiters") {
  REQUIRE(embedded_web_templates_count >= 11);
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < embedded_web_templates_count; ++i) {
    const EmbeddedFile& file = embedded_web_templates[i];
    CAPTURE(file.name);
    names.insert(file.name);
    std::string text(file.content);
    CHECK_FALSE(contains(text, "{{{"));
    CHECK_FALSE(std::regex_search(text, std::regex("\\{\\{\\s*[&=]")));
    CHECK_FALSE(contains(text, "style="));
    CHECK_FALSE(contains(text, "'"));
  }
  for (std::string_view page : {"layout", "home", "dev_login", "accounts", "new_account", "account",
                                "secret", "queues", "apikeys", "admin", "error"}) {
    CHECK(names.count(std::string(page) + ".mustache") == 1);
  }
}

}  // namespace
}  // namespace authsvc
