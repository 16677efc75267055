#include "authsvc/import/import_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "authsvc/core/error.h"
#include "authsvc/core/names.h"
#include "authsvc/core/text.h"

namespace authsvc {
namespace {

bool has_tag(const BrokerUser& user, std::string_view tag) {
  return std::find(user.tags.begin(), user.tags.end(), tag) != user.tags.end();
}

// The user's credential, nullopt if its algorithm is unknown or it has no
// password hash; throws if the hash is damaged.
std::optional<Credential> credential_of(const BrokerUser& user, const std::string& algorithm) {
  std::optional<CredentialScheme> scheme = credential_scheme_from_string(algorithm);
  if (!scheme || *scheme == CredentialScheme::token) return std::nullopt;
  if (!user.password_hash || user.password_hash->empty()) return std::nullopt;
  try {
    return credential_from_rabbit_hash(*scheme, *user.password_hash);
  } catch (const Error& e) {
    throw Error(fmt::format("user '{}': {}; the file looks damaged, nothing was imported",
                            printable(user.name), e.what()));
  }
}

}  // namespace

std::string default_hashing_algorithm(const std::string& rabbit_version) {
  for (const char* old : {"3.0.", "3.1.", "3.2.", "3.3.", "3.4.", "3.5."}) {
    if (rabbit_version.rfind(old, 0) == 0) return "rabbit_password_hashing_md5";
  }
  return "rabbit_password_hashing_sha256";
}

ImportPlan plan_import(const Definitions& definitions,
                       const std::function<bool(const std::string&)>& exists) {
  std::set<std::string> defined_vhosts(definitions.vhosts.begin(), definitions.vhosts.end());
  std::map<std::string, std::vector<std::string>> vhosts_of;
  for (const BrokerPermission& p : definitions.permissions) vhosts_of[p.user].push_back(p.vhost);

  // Damage first, for every user, whatever happens to it: a damaged file
  // is refused even when the damaged user would have been skipped.
  std::set<std::string> seen;
  std::vector<std::optional<Credential>> credentials;
  for (const BrokerUser& user : definitions.users) {
    if (!seen.insert(user.name).second) {
      throw Error(
          fmt::format("user '{}' appears twice; the file looks damaged, nothing was "
                      "imported",
                      printable(user.name)));
    }
    credentials.push_back(credential_of(
        user,
        user.hashing_algorithm.value_or(default_hashing_algorithm(definitions.rabbit_version))));
  }

  ImportPlan plan;
  for (std::size_t i = 0; i < definitions.users.size(); ++i) {
    const BrokerUser& user = definitions.users[i];
    std::string algorithm =
        user.hashing_algorithm.value_or(default_hashing_algorithm(definitions.rabbit_version));
    auto skip = [&](std::string reason) {
      plan.skipped.push_back(SkippedUser{user.name, std::move(reason)});
    };
    if (std::string problem = user_name_problem(user.name); !problem.empty()) {
      skip("not a name authsvc accepts: " + problem);
      continue;
    }
    if (has_tag(user, "administrator")) {
      skip(
          "tagged administrator: an operator account, which stays in the broker's internal "
          "database");
      continue;
    }
    if (!credential_scheme_from_string(algorithm) ||
        algorithm == to_string(CredentialScheme::token)) {
      skip(fmt::format(
          "hashing_algorithm '{}' is not one authsvc knows ({}, {}, {}): it could "
          "not log in",
          printable(algorithm), to_string(CredentialScheme::rabbit_sha256),
          to_string(CredentialScheme::rabbit_sha512), to_string(CredentialScheme::rabbit_md5)));
      continue;
    }
    if (!credentials[i]) {
      skip(user.has_clear_password
               ? "has a clear-text password instead of a password_hash: authsvc imports hashes "
                 "only (export the definitions with rabbitmqctl)"
               : "has no password (e.g. an x509 login): it could not log in to authsvc");
      continue;
    }
    if (exists(user.name)) {
      skip("already in authsvc: left as it is");
      continue;
    }
    ImportedUser imported{user.name, {}, {}, std::move(*credentials[i])};
    std::vector<ImportNote> notes;
    for (const std::string& tag : user.tags) {
      if (is_valid_tag(tag)) {
        imported.tags.push_back(tag);
      } else {
        notes.push_back({user.name, fmt::format("tag '{}' is not one authsvc accepts (1 to 64 "
                                                "letters, digits, '.', '_', '-' or ':'): dropped",
                                                printable(tag))});
      }
    }
    std::set<std::string> vhosts;
    for (const std::string& vhost : vhosts_of[user.name]) {
      if (!defined_vhosts.count(vhost)) {
        notes.push_back({user.name, fmt::format("has permissions on vhost '{}', which the file "
                                                "does not define: not granted",
                                                printable(vhost))});
      } else if (!is_valid_vhost(vhost)) {
        notes.push_back({user.name, fmt::format("vhost '{}' is not one authsvc accepts: not "
                                                "granted",
                                                printable(vhost))});
      } else {
        vhosts.insert(vhost);
      }
    }
    if (vhosts.empty()) {
      skip(
          "has permissions on no vhost: the broker lets it into none, and an authsvc user has "
          "at least one");
      continue;
    }
    imported.vhosts.assign(vhosts.begin(), vhosts.end());
    std::sort(imported.tags.begin(), imported.tags.end());
    imported.tags.erase(std::unique(imported.tags.begin(), imported.tags.end()),
                        imported.tags.end());
    plan.users.push_back(std::move(imported));
    for (ImportNote& note : notes) plan.notes.push_back(std::move(note));
  }
  auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  std::sort(plan.users.begin(), plan.users.end(), by_name);
  std::sort(plan.skipped.begin(), plan.skipped.end(), by_name);
  std::stable_sort(plan.notes.begin(), plan.notes.end(), by_name);
  return plan;
}

}  // namespace authsvc
