#include "authsvc/import/permission_comparison.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>

#include "authsvc/core/rules.h"
#include "authsvc/core/text.h"
#include "authsvc/import/broker_regex.h"

namespace authsvc {
namespace {

constexpr Permission kPermissions[] = {Permission::configure, Permission::write, Permission::read};

struct Sample {
  ResourceKind kind;
  std::string name;
  std::string pattern;
};

// A name for "another user" that is no user of the file.
std::string other_user_name(const Definitions& definitions) {
  std::set<std::string> taken;
  for (const BrokerUser& u : definitions.users) taken.insert(u.name);
  std::string name = "other-user";
  for (int i = 2; taken.count(name); ++i) name = "other-user" + std::to_string(i);
  return name;
}

// `name` with the prefixes of `user` shown as <user>.
std::string pattern_of(const std::string& name, const std::string& user) {
  for (std::string_view kind : {"exchange/", "queue/"}) {
    std::string prefix = std::string(kind) + user;
    if (name.rfind(prefix, 0) == 0 &&
        (name.size() == prefix.size() || name[prefix.size()] == '/')) {
      return std::string(kind) + "<user>" + name.substr(prefix.size());
    }
  }
  return name;
}

std::vector<Sample> samples_for(const std::string& user, const std::string& other,
                                const std::string& vhost, const Definitions& definitions) {
  std::vector<Sample> samples;
  std::set<std::pair<ResourceKind, std::string>> seen;
  auto add = [&](ResourceKind kind, std::string name, std::string pattern) {
    if (seen.emplace(kind, name).second) {
      samples.push_back(Sample{kind, std::move(name), std::move(pattern)});
    }
  };
  auto own = [&](ResourceKind kind, const char* format) {
    add(kind, fmt::format(fmt::runtime(format), user), fmt::format(fmt::runtime(format), "<user>"));
  };
  auto others = [&](ResourceKind kind, const char* format) {
    add(kind, fmt::format(fmt::runtime(format), other),
        fmt::format(fmt::runtime(format), "<other>"));
  };
  auto fixed = [&](ResourceKind kind, const char* name) { add(kind, name, name); };
  for (ResourceKind kind : {ResourceKind::exchange, ResourceKind::queue}) {
    own(kind, "exchange/{}/x");
    own(kind, "queue/{}/x");
    own(kind, kind == ResourceKind::exchange ? "exchange/{}/" : "queue/{}/");
    own(kind, kind == ResourceKind::exchange ? "exchange/{}" : "queue/{}");
    others(kind, "exchange/{}/x");
    others(kind, "queue/{}/x");
    fixed(kind, kind == ResourceKind::exchange ? "exchange/x" : "queue/x");
    fixed(kind, "x");
  }
  fixed(ResourceKind::exchange, "amq.default");
  fixed(ResourceKind::exchange, "amq.topic");
  fixed(ResourceKind::queue, "amq.gen-JzTY20BRgKO-HjmUJj0wLg");
  for (const BrokerResource& e : definitions.exchanges) {
    if (e.vhost != vhost) continue;
    std::string name = e.name.empty() ? "amq.default" : e.name;
    add(ResourceKind::exchange, name, pattern_of(name, user));
  }
  for (const BrokerResource& q : definitions.queues) {
    if (q.vhost == vhost) add(ResourceKind::queue, q.name, pattern_of(q.name, user));
  }
  return samples;
}

// The routing keys topic checks are compared over.
std::vector<std::string> routing_keys_for(const std::string& user, const std::string& vhost,
                                          const Definitions& definitions, bool has_topic_rules) {
  // Without topic permissions the broker allows every key and authsvc
  // looks at none: one key stands for all.
  if (!has_topic_rules) return {"a.b"};
  std::vector<std::string> keys = {"a.b", "#", "", user + ".x"};
  std::set<std::string> seen(keys.begin(), keys.end());
  for (const BrokerBinding& b : definitions.bindings) {
    if (b.vhost == vhost && seen.insert(b.routing_key).second) keys.push_back(b.routing_key);
  }
  return keys;
}

// A user's permissions in one vhost, compiled; a regex RE2 refuses is
// nullopt (not compared).
struct CompiledPermission {
  std::optional<BrokerRegex> configure, write, read;
  const std::optional<BrokerRegex>& operator[](Permission p) const {
    return p == Permission::configure ? configure : p == Permission::write ? write : read;
  }
};

struct CompiledTopic {
  std::optional<BrokerRegex> write, read;
};

}  // namespace

PermissionComparison compare_permissions(const Definitions& definitions,
                                         const std::vector<std::string>& users,
                                         const Rules& rules) {
  PermissionComparison result;
  const std::string other = other_user_name(definitions);
  std::set<std::string> wanted(users.begin(), users.end());
  std::set<std::string> defined_vhosts(definitions.vhosts.begin(), definitions.vhosts.end());

  auto compile = [&](const std::string& user, const std::string& vhost, const char* what,
                     const std::string& text) {
    std::string error;
    std::optional<BrokerRegex> regex = BrokerRegex::compile(text, &error);
    if (!regex) {
      result.problems.push_back(fmt::format(
          "{} in vhost '{}': the {} regex '{}' cannot be compared (RE2: {}); authsvc's rules "
          "decide after the switch",
          user, printable(vhost), what, printable(text), printable(error)));
    }
    return regex;
  };
  auto authsvc_allows = [&](ResourceKind kind, Permission permission, const std::string& name,
                            const std::string& user, const std::string& vhost) {
    const Rule* rule = rules.first_match(kind, permission, name, {user, vhost});
    return rule && rule->effect == Effect::allow;
  };

  // (user, vhost) -> permissions, in name order.
  std::map<std::pair<std::string, std::string>, const BrokerPermission*> grants;
  for (const BrokerPermission& p : definitions.permissions) {
    if (wanted.count(p.user) && defined_vhosts.count(p.vhost)) grants[{p.user, p.vhost}] = &p;
  }
  for (const auto& [user_vhost, permission] : grants) {
    const auto& [user, vhost] = user_vhost;
    ++result.user_vhosts;
    CompiledPermission broker{compile(user, vhost, "configure", permission->configure),
                              compile(user, vhost, "write", permission->write),
                              compile(user, vhost, "read", permission->read)};
    std::map<std::string, CompiledTopic> topics;  // by exchange
    for (const BrokerTopicPermission& t : definitions.topic_permissions) {
      if (t.user != user || t.vhost != vhost) continue;
      topics[t.exchange] = CompiledTopic{
          compile(user, vhost, "topic write", expand_topic_variables(t.write, user, vhost)),
          compile(user, vhost, "topic read", expand_topic_variables(t.read, user, vhost))};
    }
    std::vector<std::string> keys = routing_keys_for(user, vhost, definitions, !topics.empty());

    for (const Sample& sample : samples_for(user, other, vhost, definitions)) {
      for (Permission p : kPermissions) {
        const std::optional<BrokerRegex>& regex = broker[p];
        if (!regex) continue;
        ++result.checks;
        bool broker_allows = regex->matches(sample.name);
        bool ours = authsvc_allows(sample.kind, p, sample.name, user, vhost);
        if (broker_allows != ours) {
          result.differences.push_back(PermissionDifference{
              user, vhost, sample.kind, p, sample.name, "", sample.pattern, broker_allows});
        }
        if (sample.kind != ResourceKind::exchange || p == Permission::configure || !broker_allows ||
            !ours) {
          continue;
        }
        // Both let the resource check through: the topic check follows.
        bool ours_topic = authsvc_allows(ResourceKind::topic, p, sample.name, user, vhost);
        auto topic = topics.find(sample.name);
        for (const std::string& key : keys) {
          bool broker_topic = true;  // no topic permission for this exchange: any key
          if (topic != topics.end()) {
            const std::optional<BrokerRegex>& key_regex =
                p == Permission::write ? topic->second.write : topic->second.read;
            if (!key_regex) continue;
            broker_topic = key_regex->matches(key);
          }
          ++result.checks;
          if (broker_topic != ours_topic) {
            result.differences.push_back(PermissionDifference{user, vhost, ResourceKind::topic, p,
                                                              sample.name, key, sample.pattern,
                                                              broker_topic});
          }
        }
      }
    }
  }
  return result;
}

}  // namespace authsvc
