#include "authsvc/guardian/management_api.h"

#include <httplib.h>
#include <re2/re2.h>

#include <algorithm>
#include <climits>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "authsvc/core/form.h"
#include "authsvc/core/text.h"
#include "authsvc/guardian/http_failure.h"
#include "authsvc/guardian/queue_cap.h"
#include "authsvc/guardian/url.h"

namespace authsvc {
namespace {

using nlohmann::json;

// The management URL: http(s)://host[:port][/prefix].
ServerUrl parse_management_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return ManagementError("management URL '" + redact_url(url) + "': " + why +
                           "; expected http(s)://HOST[:PORT][/PREFIX]");
  };
  std::string error;
  std::optional<ServerUrl> u = parse_server_url(url, {"http", "https"}, &error);
  if (!u) throw bad(error);
  // The prefix goes before every request's path as it is: plain segments only.
  while (!u->path.empty() && u->path.back() == '/') u->path.pop_back();
  if (u->path.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/") !=
      std::string::npos) {
    throw bad("the path may only be a plain prefix");
  }
  return *u;
}

// The broker's own explanation of an error answer, e.g. {"error":
// "not_authorized","reason":"Login failed"}; "" if there is none.
std::string reason_of(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("reason") && j["reason"].is_string()) {
    std::string reason = j["reason"].get<std::string>().substr(0, 200);
    for (char& c : reason) {
      if (is_control(static_cast<unsigned char>(c))) c = ' ';
    }
    return " (" + reason + ")";
  }
  return "";
}

// Field readers: a missing (or null) field gets its default; a field of
// another type is an error. `what` names the listing, for messages.
class Item {
 public:
  Item(const json& j, const char* what) : j_(j), what_(what) {
    if (!j_.is_object()) throw ManagementError(std::string(what_) + ": an item is not an object");
  }

  std::string string(const char* key, bool required = false) const {
    const json* v = find(key);
    if (v == nullptr) {
      if (required) throw error(key, "is missing");
      return "";
    }
    if (!v->is_string()) throw error(key, "is not a string");
    return v->get<std::string>();
  }

  bool has(const char* key) const { return find(key) != nullptr; }

  bool boolean(const char* key) const {
    const json* v = find(key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) throw error(key, "is not a boolean");
    return v->get<bool>();
  }

  std::optional<std::int64_t> integer(const char* key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_unsigned()) {
      if (v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
        throw error(key, "is out of range");
      }
      return static_cast<std::int64_t>(v->get<std::uint64_t>());
    }
    if (!v->is_number_integer()) throw error(key, "is not an integer");
    return v->get<std::int64_t>();
  }

  // peer_port is a number for network connections; be lenient about the
  // atoms ("unknown") that some connection types report as strings.
  // A length limit in `key` of the object `object` (a queue's arguments, a
  // policy's definition): nullopt unless it is a whole number RabbitMQ
  // would apply. Anything else leaves the queue under the guardian's
  // limits, as a queue without one: unknown is not bounded.
  std::optional<std::int64_t> length_limit(const char* object, const char* key) const {
    const json* o = find(object);
    if (o == nullptr || !o->is_object()) return std::nullopt;
    auto it = o->find(key);
    if (it == o->end()) return std::nullopt;
    if (it->is_number_unsigned() && it->get<std::uint64_t>() <= INT64_MAX) {
      return static_cast<std::int64_t>(it->get<std::uint64_t>());
    }
    if (it->is_number_integer() && it->get<std::int64_t>() >= 0) return it->get<std::int64_t>();
    return std::nullopt;
  }

  // A string in the object `object`'s `key` (a queue's argument, a
  // policy's setting); "" if there is none, or it is no string: RabbitMQ
  // ignores such a setting.
  std::string string_in(const char* object, const char* key) const {
    const json* o = find(object);
    if (o == nullptr || !o->is_object()) return "";
    auto it = o->find(key);
    return it != o->end() && it->is_string() ? it->get<std::string>() : "";
  }

  // A string under nested keys ({"a", "b"}: item["a"]["b"]); nullopt if any
  // is missing or null. Anything but a string there is an error.
  std::optional<std::string> string_at(std::initializer_list<const char*> path) const {
    const json* v = at(path);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) throw error(*(path.end() - 1), "is not a string");
    return v->get<std::string>();
  }

  // A number under nested keys ({"a", "b"}: item["a"]["b"]); nullopt if
  // any is missing or null. Anything but a number there is an error.
  std::optional<double> number_at(std::initializer_list<const char*> path) const {
    const json* v = at(path);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) throw error(*(path.end() - 1), "is not a number");
    return v->get<double>();
  }

  std::string peer() const {
    std::string host = string("peer_host");
    const json* port = find("peer_port");
    if (host.empty() || port == nullptr) return "";
    std::string p;
    if (port->is_number_integer()) {
      p = std::to_string(port->get<std::int64_t>());
    } else if (port->is_string()) {
      p = port->get<std::string>();
    } else {
      throw error("peer_port", "is neither a number nor a string");
    }
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + p;
  }

 private:
  const json* find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  // The value under nested keys, or nullptr if any is missing or null.
  const json* at(std::initializer_list<const char*> path) const {
    const json* v = &j_;
    for (const char* key : path) {
      if (!v->is_object()) return nullptr;
      auto it = v->find(key);
      if (it == v->end() || it->is_null()) return nullptr;
      v = &*it;
    }
    return v;
  }
  ManagementError error(const char* key, const char* problem) const {
    return ManagementError(std::string(what_) + ": field '" + key + "' " + problem);
  }

  const json& j_;
  const char* what_;
};

// Throws unless `r` is an answer with a 2xx status; `what` names the request.
void require_success(const std::string& what, const httplib::Result& r) {
  if (!r)
    throw ManagementError(what + ": " +
                          describe_http_failure(static_cast<int>(r.error()), "the broker"));
  if (r->status < 200 || r->status > 299) {
    throw ManagementError(what + ": HTTP " + std::to_string(r->status) + reason_of(r->body));
  }
}

json parse_array(const std::string& body, const std::string& what) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ManagementError(what + ": the answer is not valid JSON");
  if (!j.is_array()) throw ManagementError(what + ": the answer is not a JSON array");
  return j;
}

}  // namespace

ManagementApi::ManagementApi(ManagementOptions options) {
  ServerUrl u = parse_management_url(options.url);
  url_ = u.origin() + u.path;
  prefix_ = u.path;
  if (u.scheme == "https") {
    auto tls = std::make_unique<httplib::SSLClient>(u.host, u.port);
    tls->enable_server_certificate_verification(true);
    client_ = std::move(tls);
  } else {
    client_ = std::make_unique<httplib::ClientImpl>(u.host, u.port);
  }
  client_->set_basic_auth(options.user.c_str(), options.password.c_str());
  client_->set_connection_timeout(options.timeout);
  client_->set_read_timeout(options.timeout);
  client_->set_write_timeout(options.timeout);
  // Paths are encoded here, segment by segment; httplib's own pass would
  // leave '/' in a name alone.
  client_->set_url_encode(false);
  client_->set_follow_location(false);
  client_->set_keep_alive(false);
}

ManagementApi::~ManagementApi() = default;

std::string ManagementApi::get(const std::string& path_and_query) {
  const std::string what = "management API GET " + url_ + path_and_query;
  httplib::Result r = client_->Get((prefix_ + path_and_query).c_str());
  require_success(what, r);
  return std::move(r->body);
}

void ManagementApi::put(const std::string& path, const std::string& body) {
  const std::string what = "management API PUT " + url_ + path;
  httplib::Result r = client_->Put((prefix_ + path).c_str(), body, "application/json");
  require_success(what, r);
}

bool ManagementApi::remove(const std::string& path, const std::string& reason) {
  const std::string what = "management API DELETE " + url_ + path;
  httplib::Headers headers;
  if (!reason.empty()) headers.emplace("X-Reason", reason);
  httplib::Result r = client_->Delete((prefix_ + path).c_str(), headers);
  if (r && r->status == 404) return false;
  require_success(what, r);
  return true;
}

namespace {

// Each item of a listing through `parse_one(Item)`.
template <typename T, typename ParseOne>
std::vector<T> parse_listing(const json& items, const char* what, ParseOne parse_one) {
  std::vector<T> out;
  out.reserve(items.size());
  for (const json& j : items) out.push_back(parse_one(Item(j, what)));
  return out;
}

// What the guardian reads of a policy's (or an operator policy's)
// definition.
struct PolicyEffect {
  std::optional<std::int64_t> max_length;
  std::string overflow;
};

// Each policy (/api/policies) or operator policy (/api/operator-policies),
// by vhost and name.
using PolicyEffects = std::map<std::pair<std::string, std::string>, PolicyEffect>;

PolicyEffects policy_effects(const json& items, const char* what) {
  PolicyEffects effects;
  for (const json& j : items) {
    Item item(j, what);
    effects[{item.string("vhost", true), item.string("name", true)}] = PolicyEffect{
        item.length_limit("definition", "max-length"), item.string_in("definition", "overflow")};
  }
  return effects;
}

std::optional<std::int64_t> lower(std::optional<std::int64_t> a, std::optional<std::int64_t> b) {
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}

}  // namespace

// The listing names each queue's policy (their definitions come from the
// policies' own listing, asked only when a queue has one), not its
// operator policy: RabbitMQ 3.10 gives that only with the statistics, as
// it gives effective_policy_definition. So the operator policies are
// listed each time (a few at most, the guardian's caps among them), and
// only if there is one of the operator's own are the queues listed again,
// with statistics, for the operator_policy column alone.
// Each queue's consumers are counted from /api/consumers.
std::vector<QueueInfo> ManagementApi::queues() {
  const std::string path =
      "/api/queues?disable_stats=true&enable_queue_totals=true"
      "&columns=vhost,name,messages,messages_ready,durable,auto_delete,exclusive,arguments,policy";
  json items = parse_array(get(path), "management API GET " + url_ + path);
  std::vector<QueueInfo> queues =
      parse_listing<QueueInfo>(items, "queue listing", [](const Item& item) {
        QueueInfo q;
        q.vhost = item.string("vhost", true);
        q.name = item.string("name", true);
        q.messages = item.integer("messages");
        q.messages_ready = item.integer("messages_ready");
        q.durable = item.boolean("durable");
        q.auto_delete = item.boolean("auto_delete");
        q.exclusive = item.boolean("exclusive");
        q.max_length_argument = item.length_limit("arguments", "x-max-length");
        q.overflow = item.string_in("arguments", "x-overflow");
        q.policy = item.string("policy");
        return q;
      });
  auto effects_of = [&](const char* listing) {
    const std::string policies_path =
        std::string("/api/") + listing + "?columns=vhost,name,definition";
    return policy_effects(
        parse_array(get(policies_path), "management API GET " + url_ + policies_path), listing);
  };
  bool any_policy = std::any_of(queues.begin(), queues.end(),
                                [](const QueueInfo& q) { return !q.policy.empty(); });
  PolicyEffects policies = any_policy ? effects_of("policies") : PolicyEffects{};
  PolicyEffects operator_policies = effects_of("operator-policies");
  std::set<std::pair<std::string, std::string>> caps;
  bool any_operators_own = false;
  for (const auto& [key, effect] : operator_policies) {
    if (is_cap_policy(key.second)) {
      caps.insert(key);
    } else {
      any_operators_own = true;
    }
  }
  std::map<std::pair<std::string, std::string>, std::string> in_effect;
  if (any_operators_own) {
    const std::string stats_path = "/api/queues?columns=vhost,name,operator_policy";
    json listed = parse_array(get(stats_path), "management API GET " + url_ + stats_path);
    for (const json& j : listed) {
      Item item(j, "queue listing");
      std::string name = item.string("operator_policy");
      // The guardian's cap in effect hides the operator's own under it:
      // the cap carries its settings (cap_queue).
      if (!name.empty() && !is_cap_policy(name))
        in_effect[{item.string("vhost", true), item.string("name", true)}] = name;
    }
  }
  // Consumers likewise come with the statistics alone; /api/consumers
  // lists each (a record per consumer, not per queue: far less than the
  // queues' statistics).
  std::map<std::pair<std::string, std::string>, std::int64_t> consumer_counts;
  for (const ConsumerInfo& c : consumers()) ++consumer_counts[{c.vhost, c.queue}];
  for (QueueInfo& q : queues) {
    auto counted = consumer_counts.find({q.vhost, q.name});
    q.consumers = counted == consumer_counts.end() ? 0 : counted->second;
    auto effect = [&](const PolicyEffects& effects, const std::string& name) {
      auto found = name.empty() ? effects.end() : effects.find({q.vhost, name});
      return found == effects.end() ? PolicyEffect{} : found->second;
    };
    if (auto found = in_effect.find({q.vhost, q.name}); found != in_effect.end())
      q.operator_policy = found->second;
    q.capped_by_guardian = caps.count({q.vhost, cap_policy_name(q.vhost, q.name)}) > 0;
    PolicyEffect policy = effect(policies, q.policy);
    // The guardian's own caps do not bound a queue: they are why it is held.
    q.policy_max_length =
        lower(policy.max_length, effect(operator_policies, q.operator_policy).max_length);
    // The queue's argument wins over its policy's, as RabbitMQ applies them.
    if (q.overflow.empty()) q.overflow = policy.overflow;
  }
  return queues;
}

namespace {

ExchangeInfo exchange_of(const Item& item) {
  ExchangeInfo e;
  e.vhost = item.string("vhost", true);
  e.name = item.string("name", true);
  e.type = item.string("type");
  e.durable = item.boolean("durable");
  e.auto_delete = item.boolean("auto_delete");
  e.internal = item.boolean("internal");
  return e;
}

}  // namespace

std::vector<ExchangeInfo> ManagementApi::exchanges() {
  const std::string path =
      "/api/exchanges?disable_stats=true&columns=vhost,name,type,durable,auto_delete,internal";
  json items = parse_array(get(path), "management API GET " + url_ + path);
  return parse_listing<ExchangeInfo>(items, "exchange listing",
                                     [](const Item& item) { return exchange_of(item); });
}

std::vector<ExchangeInfo> ManagementApi::exchanges_with_rates() {
  const std::string path =
      "/api/exchanges?columns=vhost,name,type,durable,auto_delete,internal,"
      "message_stats.publish_in_details.rate";
  json items = parse_array(get(path), "management API GET " + url_ + path);
  return parse_listing<ExchangeInfo>(items, "exchange listing", [](const Item& item) {
    ExchangeInfo e = exchange_of(item);
    e.publish_rate = item.number_at({"message_stats", "publish_in_details", "rate"});
    return e;
  });
}

std::vector<ChannelInfo> ManagementApi::channels() {
  const std::string path =
      "/api/channels?columns=name,user,vhost,confirm,global_prefetch_count,message_stats.publish";
  json items = parse_array(get(path), "management API GET " + url_ + path);
  return parse_listing<ChannelInfo>(items, "channel listing", [](const Item& item) {
    ChannelInfo c;
    c.name = item.string("name", true);
    c.user = item.string("user");
    c.vhost = item.string("vhost");
    c.confirm = item.boolean("confirm");
    c.global_prefetch = item.integer("global_prefetch_count").value_or(0);
    if (std::optional<double> published = item.number_at({"message_stats", "publish"}))
      c.published = static_cast<std::int64_t>(*published);
    return c;
  });
}

std::vector<ConsumerInfo> ManagementApi::consumers() {
  const std::string path =
      "/api/consumers?columns=queue.name,queue.vhost,channel_details.name,channel_details.user,"
      "prefetch_count,ack_required";
  std::vector<ConsumerInfo> out;
  for (const json& j : parse_array(get(path), "management API GET " + url_ + path)) {
    Item item(j, "consumer listing");
    std::optional<std::string> vhost = item.string_at({"queue", "vhost"});
    std::optional<std::string> queue = item.string_at({"queue", "name"});
    // A consumer the broker lists without its queue (being cancelled) is
    // nobody's: it counts for no queue.
    if (!vhost || !queue) continue;
    ConsumerInfo& c = out.emplace_back();
    c.vhost = *vhost;
    c.queue = *queue;
    c.channel = item.string_at({"channel_details", "name"}).value_or("");
    c.user = item.string_at({"channel_details", "user"}).value_or("");
    c.prefetch = item.integer("prefetch_count").value_or(0);
    c.ack_required = !item.has("ack_required") || item.boolean("ack_required");
  }
  return out;
}

std::vector<BindingInfo> ManagementApi::bindings() {
  const std::string path = "/api/bindings?columns=vhost,source,destination,destination_type";
  json items = parse_array(get(path), "management API GET " + url_ + path);
  return parse_listing<BindingInfo>(items, "binding listing", [](const Item& item) {
    BindingInfo b;
    b.vhost = item.string("vhost", true);
    b.source = item.string("source", true);
    b.destination = item.string("destination", true);
    b.destination_type = item.string("destination_type");
    return b;
  });
}

std::vector<ConnectionInfo> ManagementApi::connections() {
  // Not disable_stats: on 3.10 it drops peer_host and peer_port.
  const std::string path =
      "/api/connections?columns=name,user,vhost,peer_host,peer_port,connected_at";
  json items = parse_array(get(path), "management API GET " + url_ + path);
  return parse_listing<ConnectionInfo>(items, "connection listing", [](const Item& item) {
    ConnectionInfo c;
    c.name = item.string("name", true);
    c.user = item.string("user");
    c.vhost = item.string("vhost");
    c.peer = item.peer();
    c.connected_at_ms = item.integer("connected_at");
    return c;
  });
}

std::vector<std::string> ManagementApi::internal_users() {
  const std::string path = "/api/users?columns=name";
  json items = parse_array(get(path), "management API GET " + url_ + path);
  return parse_listing<std::string>(items, "user listing",
                                    [](const Item& item) { return item.string("name", true); });
}

bool ManagementApi::delete_queue(const std::string& vhost, const std::string& name) {
  return remove("/api/queues/" + path_segment(vhost) + "/" + path_segment(name), "");
}

bool ManagementApi::delete_exchange(const std::string& vhost, const std::string& name) {
  return remove("/api/exchanges/" + path_segment(vhost) + "/" + path_segment(name), "");
}

void ManagementApi::cap_queue(const QueueInfo& queue, std::int64_t max_length) {
  // RabbitMQ applies one operator policy to a queue, the highest priority
  // of those that match it. The cap must be that one, and must keep what
  // the operator's own that it displaces sets: so it takes a priority above
  // all of theirs in the vhost, and the definition of the one of theirs
  // that matches the queue now (patterns read with RE2: those it cannot
  // read are left out, and the broker's word for the queue is used then).
  const std::string path = "/api/operator-policies/" + path_segment(queue.vhost);
  json listed = parse_array(get(path), "management API GET " + url_ + path);
  std::int64_t priority = 0;
  std::optional<std::int64_t> base_priority;
  json definition = json::object();
  for (const json& j : listed) {
    Item item(j, "operator policy listing");
    const std::string name = item.string("name", true);
    if (is_cap_policy(name)) continue;
    const std::int64_t p = item.integer("priority").value_or(0);
    priority = std::max(priority, p + 1);
    const std::string applies = item.string("apply-to");
    if (applies != "queues" && applies != "all") continue;
    RE2 pattern(item.string("pattern"), RE2::Quiet);
    bool matches =
        pattern.ok() ? RE2::PartialMatch(queue.name, pattern) : name == queue.operator_policy;
    if (!matches || (base_priority && *base_priority >= p)) continue;
    auto d = j.find("definition");
    if (d == j.end() || !d->is_object()) continue;
    definition = *d;
    base_priority = p;
  }
  if (!definition.contains("max-length") || !definition["max-length"].is_number_integer() ||
      definition["max-length"].get<std::int64_t>() > max_length) {
    definition["max-length"] = max_length;
  }
  json policy = {{"pattern", cap_policy_pattern(queue.name)},
                 {"apply-to", "queues"},
                 {"priority", priority},
                 {"definition", definition}};
  put("/api/operator-policies/" + path_segment(queue.vhost) + "/" +
          path_segment(cap_policy_name(queue.vhost, queue.name)),
      policy.dump());
}

bool ManagementApi::uncap_queue(const std::string& vhost, const std::string& name) {
  return remove("/api/operator-policies/" + path_segment(vhost) + "/" +
                    path_segment(cap_policy_name(vhost, name)),
                "");
}

bool ManagementApi::close_connection(const std::string& name, const std::string& reason) {
  if (has_control(reason)) {
    throw ManagementError("close_connection: the reason has a control character");
  }
  return remove("/api/connections/" + path_segment(name), reason);
}

}  // namespace authsvc
