#include "authsvc/web/pages.h"

#include <initializer_list>
#include <kainjow/mustache.hpp>
#include <stdexcept>

#include "authsvc/core/form.h"
#include "authsvc/web/embedded_web_files.h"
#include "authsvc/web/safe_next.h"

namespace authsvc {
namespace {

using Data = kainjow::mustache::data;

constexpr std::string_view kProduct = "Pulse accounts";

// The values a template sees, built so that mistakes fail loudly: a name
// set twice (a page's value hiding the frame's) throws, and so does a name
// a template asks for and no value has (StrictContext below). Values go in
// as text or flags only: Data's constructor from bool would also take a
// number, and show it as a flag.
class Values {
 public:
  Values& text(const std::string& name, std::string_view value) {
    return put(name, Data(std::string(value)));
  }
  Values& flag(const std::string& name, bool value) { return put(name, Data(value)); }
  Values& list(const std::string& name, Data list) { return put(name, std::move(list)); }
  Values& object(const std::string& name, const Values& object) { return put(name, object.data_); }
  // A partial: template text, never a value someone gave. Its name starts
  // with '_', and only a partial's may (see add_partials).
  Values& partial(const std::string& name, std::string_view template_text) {
    kainjow::mustache::partial text = [template_text] { return std::string(template_text); };
    return put(name, Data(text), true);
  }
  const Data& data() const { return data_; }

 private:
  Values& put(const std::string& name, Data value, bool is_partial = false) {
    if (name.starts_with('_') != is_partial) {
      throw std::logic_error("page value '" + name + "': only partials' names start with '_'");
    }
    if (data_.get(name) != nullptr) {
      throw std::logic_error("page value '" + name + "' set twice");
    }
    data_.set(name, value);
    return *this;
  }
  Data data_;
};

template <typename Row, typename ValuesOf>
Data list_of(const std::vector<Row>& rows, ValuesOf values_of) {
  Data list(Data::type::list);
  for (const Row& row : rows) list.push_back(values_of(row).data());
  return list;
}

// Mustache looks a name up in every enclosing value and, finding none,
// renders nothing, so a misspelled name would fail silently. Here it
// throws, and the tests see it; hence every value sets all its names, ""
// and false included (a row that lacked one would also see its page's).
class StrictContext : public kainjow::mustache::context<std::string> {
 public:
  using kainjow::mustache::context<std::string>::context;

  const Data* get(const std::string& name) const override {
    return found(context::get(name), name);
  }
  const Data* get_partial(const std::string& name) const override {
    return found(context::get_partial(name), name);
  }

 private:
  static const Data* found(const Data* value, const std::string& name) {
    if (value == nullptr) {
      throw std::logic_error("a page template names '" + name + "', which the page does not give");
    }
    return value;
  }
};

std::string_view template_named(std::string_view name) {
  for (std::size_t i = 0; i < embedded_web_templates_count; ++i) {
    if (embedded_web_templates[i].name == name) return embedded_web_templates[i].content;
  }
  throw std::logic_error("no web template named " + std::string(name));
}

// Mustache finds partials among the values, by the same lookup as any
// name. Partials are named with a leading '_', which no value's name has,
// so that no value (text someone typed) is ever read as a template.
void add_partials(Values& values, std::string_view page_template) {
  constexpr std::string_view kSuffix = ".mustache";
  for (std::size_t i = 0; i < embedded_web_templates_count; ++i) {
    std::string_view name = embedded_web_templates[i].name;
    if (!name.starts_with('_') || !name.ends_with(kSuffix)) continue;
    values.partial(std::string(name.substr(0, name.size() - kSuffix.size())),
                   embedded_web_templates[i].content);
  }
  values.partial("_page", template_named(page_template));
}

// Which link of the navigation is the current page's.
enum class Section { kNone, kAccounts, kQueues, kExchanges, kApiKeys, kAdmin };

Values frame_values(const PageFrame& frame, std::string_view default_title, Section section) {
  std::string title = frame.title.empty() ? std::string(default_title) : frame.title;
  Values values;
  values.text("title", title)
      .text("document_title",
            title == kProduct ? std::string(kProduct) : title + " · " + std::string(kProduct))
      .flag("signed_in", !frame.signed_in_as.empty())
      .text("signed_in_as", frame.signed_in_as)
      .flag("admin", frame.admin)
      .flag("dev_login", frame.dev_login)
      .text("csrf", frame.csrf)
      .flag("has_notice", !frame.notice.empty())
      .text("notice", frame.notice)
      .flag("has_error", !frame.error.empty())
      .text("error", frame.error)
      .flag("nav_accounts", section == Section::kAccounts)
      .flag("nav_queues", section == Section::kQueues)
      .flag("nav_exchanges", section == Section::kExchanges)
      .flag("nav_apikeys", section == Section::kApiKeys)
      .flag("nav_admin", section == Section::kAdmin);
  return values;
}

std::string render_page(std::string_view page_template, Values values) {
  add_partials(values, page_template);
  kainjow::mustache::mustache layout{std::string(template_named("layout.mustache"))};
  // Escaping is the library's html_escape, which writes & < > " ' as
  // entities (pages_test.cc checks each); the templates never ask for an
  // unescaped value, and quote every attribute.
  StrictContext context{&values.data()};
  std::string html = layout.is_valid() ? layout.render(context) : std::string();
  if (!layout.is_valid()) {
    throw std::logic_error("web template: " + layout.error_message());
  }
  return html;
}

// 1234567 as "1,234,567": queue depths are read at a glance.
std::string grouped(long long number) {
  std::string digits = std::to_string(number);
  std::size_t first = digits.front() == '-' ? 1 : 0;
  std::string out = digits.substr(0, first);
  for (std::size_t i = first; i < digits.size(); ++i) {
    if (i > first && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string account_path(std::string_view name) { return "/accounts/" + path_segment(name); }

// A badge's class comes from a known word, never from the value itself.
std::string_view known_or_other(std::string_view value,
                                std::initializer_list<std::string_view> known) {
  for (std::string_view word : known) {
    if (value == word) return word;
  }
  return "other";
}

Data owner_list(const std::vector<std::string>& owners) {
  return list_of(owners, [](const std::string& owner) {
    Values values;
    values.text("address", owner);
    return values;
  });
}

// An account's values, in a row or on its own page.
Values account_values(const AccountRow& account) {
  Values values;
  values.text("name", account.name)
      .text("path", account_path(account.name))
      .text("state", account.state)
      .text("state_class", known_or_other(account.state, {"active", "disabled", "expired"}))
      .flag("disabled", account.state == "disabled")
      .flag("has_expires", !account.expires.empty())
      .text("expires", account.expires)
      .flag("legacy", account.legacy)
      .flag("has_grace", !account.grace_until.empty())
      .text("grace_until", account.grace_until)
      .flag("has_owners", !account.owners.empty())
      .flag("several_owners", account.owners.size() > 1)
      .list("owners", owner_list(account.owners));
  return values;
}

Values queue_values(const QueueRow& queue) {
  Values values;
  values.flag("has_account", !queue.account.empty())
      .text("account", queue.account)
      .text("account_path", queue.account.empty() ? "" : account_path(queue.account))
      .text("vhost", queue.vhost)
      .text("name", queue.name)
      .text("messages", grouped(queue.messages))
      .flag("over_warning", queue.warn_at > 0 && queue.messages >= queue.warn_at)
      .text("consumers", grouped(queue.consumers))
      .text("warn_at", grouped(queue.warn_at))
      .text("delete_at", grouped(queue.delete_at))
      .flag("has_guardian", !queue.guardian.empty())
      .text("guardian", queue.guardian)
      .text("guardian_class", known_or_other(queue.guardian, {"warned", "deleting"}))
      .flag("exempt", queue.exempt)
      .flag("bounded", queue.bounded_at > 0)
      .text("bounded_at", grouped(queue.bounded_at));
  return values;
}

Values report_values(const ReportRow& row) {
  Values values;
  values.text("subject", row.subject)
      .text("obligation", row.obligation)
      .text("rule", row.rule)
      .text("standing", row.standing)
      .text("standing_class", row.met       ? "ok"
                              : row.not_met ? "warned"
                                            : "unseen")
      .list("evidence", list_of(row.evidence, [](const std::string& line) {
              Values v;
              v.text("line", line);
              return v;
            }));
  return values;
}

// The values _queue_table.mustache reads: the table, or why there is none.
void add_queue_table(Values& values, const std::vector<QueueRow>& queues,
                     const std::string& unavailable, bool account_column, bool delete_forms) {
  values.flag("has_queues_unavailable", !unavailable.empty())
      .text("queues_unavailable", unavailable)
      .flag("has_queues", !queues.empty())
      .list("queues", list_of(queues, queue_values))
      .flag("queue_account_column", account_column)
      .flag("queue_delete_forms", delete_forms);
}

Values api_key_values(const ApiKeyRow& key) {
  Values values;
  values.text("id", std::to_string(key.id))
      .text("path", "/apikeys/" + path_segment(std::to_string(key.id)))
      .flag("has_label", !key.label.empty())
      .text("label", key.label)
      .text("created", key.created)
      .flag("has_expires", !key.expires.empty())
      .text("expires", key.expires)
      .flag("has_last_used", !key.last_used.empty())
      .text("last_used", key.last_used)
      .flag("is_revoked", !key.revoked.empty())
      .text("revoked", key.revoked);
  return values;
}

std::string_view status_title(int status) {
  switch (status) {
    case 400:
      return "Bad request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not found";
    case 409:
      return "Conflict";
    case 429:
      return "Too many requests";
    default:
      return "Something went wrong";
  }
}

std::string exchange_path(std::string_view vhost, std::string_view name) {
  return "/exchanges/" + path_segment(vhost) + "/" + path_segment(name);
}

Values exchange_values(const ExchangeRow& e) {
  Values row;
  row.text("vhost", e.vhost)
      .text("name", e.name)
      .text("path", exchange_path(e.vhost, e.name))
      .text("owner", e.owner)
      .text("type", e.type)
      .flag("durable", e.durable)
      .flag("has_rate", !e.publish_rate.empty())
      .text("publish_rate", e.publish_rate)
      .flag("has_last_message", !e.last_message.empty())
      .text("last_message", e.last_message)
      .text("bindings", std::to_string(e.bindings))
      .text("compliance", e.compliance)
      .flag("compliant", e.compliant);
  return row;
}

Values message_values(const MessageView& m) {
  Values values;
  std::size_t index = 0;
  values.text("routing_key", m.routing_key)
      .flag("has_fields", !m.fields.empty())
      .list("fields", list_of(m.fields,
                              [&index](const std::string& field) {
                                Values f;
                                f.text("index", std::to_string(index++)).text("field", field);
                                return f;
                              }))
      .flag("has_content_type", !m.content_type.empty())
      .text("content_type", m.content_type)
      .text("delivery_mode", m.delivery_mode)
      .text("size", std::to_string(m.size))
      .text("payload", m.payload);
  return values;
}

}  // namespace

std::string render(const HomePage& page) {
  return render_page("home.mustache", frame_values(page.frame, kProduct, Section::kNone));
}

std::string render(const DevLoginPage& page) {
  Values values = frame_values(page.frame, "Sign in", Section::kNone);
  values.text("state", page.state);
  return render_page("dev_login.mustache", std::move(values));
}

std::string render(const AccountsPage& page) {
  Values values = frame_values(page.frame, "My accounts", Section::kAccounts);
  values.flag("has_accounts", !page.accounts.empty())
      .list("accounts", list_of(page.accounts, account_values));
  return render_page("accounts.mustache", std::move(values));
}

std::string render(const NewAccountPage& page) {
  Values values = frame_values(page.frame, "New account", Section::kAccounts);
  values.text("name", page.name).text("expires", page.expires);
  return render_page("new_account.mustache", std::move(values));
}

std::string render(const AccountPage& page) {
  Values values = frame_values(page.frame, page.account.name, Section::kAccounts);
  values.object("account", account_values(page.account))
      .flag("has_credential_issued", !page.credential_issued.empty())
      .text("credential_issued", page.credential_issued)
      .text("credential_version", page.credential_version)
      .flag("has_delete_error", !page.delete_error.empty())
      .text("delete_error", page.delete_error);
  add_queue_table(values, page.queues, page.queues_unavailable, false, false);
  values.flag("has_report_unavailable", !page.report_unavailable.empty())
      .text("report_unavailable", page.report_unavailable)
      .list("report", list_of(page.report, report_values));
  return render_page("account.mustache", std::move(values));
}

std::string render(const SecretPage& page) {
  Values values = frame_values(page.frame, page.heading, Section::kNone);
  values.text("heading", page.heading)
      .flag("for_account", !page.account.empty())
      .text("account", page.account)
      .text("secret", page.secret)
      .flag("has_broker_url", !page.broker_url.empty())
      .text("broker_url", page.broker_url)
      .flag("has_example_pika", !page.example_pika.empty())
      .text("example_pika", page.example_pika)
      .flag("has_example_kombu", !page.example_kombu.empty())
      .text("example_kombu", page.example_kombu)
      .flag("has_grace", !page.grace_until.empty())
      .text("grace_until", page.grace_until)
      // A link is only ever to a page of this site, whatever the app gave.
      .text("back_href",
            safe_next(page.back_href, page.account.empty() ? "/apikeys" : "/accounts"));
  return render_page("secret.mustache", std::move(values));
}

std::string render(const QueuesPage& page) {
  Values values = frame_values(page.frame, "Queues", Section::kQueues);
  add_queue_table(values, page.queues, page.queues_unavailable, true, true);
  return render_page("queues.mustache", std::move(values));
}

std::string render(const ExchangesPage& page) {
  Values values = frame_values(page.frame, "Exchanges", Section::kExchanges);
  values.flag("has_exchanges_unavailable", !page.exchanges_unavailable.empty())
      .text("exchanges_unavailable", page.exchanges_unavailable)
      .flag("has_exchanges", !page.exchanges.empty())
      .list("exchanges", list_of(page.exchanges, exchange_values));
  return render_page("exchanges.mustache", std::move(values));
}

std::string render(const ExchangePage& page) {
  Values values = frame_values(page.frame, page.exchange.name, Section::kExchanges);
  values.object("exchange", exchange_values(page.exchange))
      .flag("has_problem", !page.problem.empty())
      .text("problem", page.problem)
      .flag("sampled", page.sampled)
      .text("inspected", std::to_string(page.inspected))
      .text("first_seen", page.first_seen)
      .text("routing_key_fields", page.routing_key_fields)
      .flag("has_json_keys", !page.json_keys.empty())
      .list("json_keys", list_of(page.json_keys,
                                 [](const std::string& key) {
                                   Values k;
                                   k.text("key", key);
                                   return k;
                                 }))
      .object("last", message_values(page.last))
      .flag("has_violations", !page.violations.empty())
      .list("violations", list_of(page.violations, [](const ViolationView& v) {
              Values row;
              row.text("kind", v.kind)
                  .text("level", v.must ? "MUST" : "SHOULD")
                  .text("rule", v.rule)
                  .text("count", std::to_string(v.count))
                  .text("last_seen", v.last_seen)
                  .flag("mailed", !v.mailed.empty())
                  .text("mailed_at", v.mailed)
                  .object("example", message_values(v.example));
              return row;
            }));
  return render_page("exchange.mustache", std::move(values));
}

std::string render(const ApiKeysPage& page) {
  Values values = frame_values(page.frame, "API keys", Section::kApiKeys);
  values.flag("has_keys", !page.keys.empty())
      .list("keys", list_of(page.keys, api_key_values))
      .text("key_lifetime", page.key_lifetime)
      .text("newest_key", std::to_string(page.newest_key));
  return render_page("apikeys.mustache", std::move(values));
}

std::string render(const AdminPage& page) {
  Values values = frame_values(page.frame, "Admin", Section::kAdmin);
  values.flag("has_accounts", !page.accounts.empty())
      .list("accounts", list_of(page.accounts, account_values))
      .flag("has_exemptions", !page.exemptions.empty())
      .list("exemptions", list_of(page.exemptions, [](const ExemptionRow& exemption) {
              Values row;
              row.text("vhost", exemption.vhost).text("name", exemption.name);
              return row;
            }));
  add_queue_table(values, page.unowned_queues, page.queues_unavailable, false, false);
  return render_page("admin.mustache", std::move(values));
}

std::string render(const ErrorPage& page) {
  std::string_view title = status_title(page.status);
  Values values = frame_values(page.frame, title, Section::kNone);
  values.text("status", std::to_string(page.status))
      .text("status_title", title)
      .flag("has_message", !page.message.empty())
      .text("message", page.message);
  return render_page("error.mustache", std::move(values));
}

}  // namespace authsvc
