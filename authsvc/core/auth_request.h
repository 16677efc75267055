#pragma once
// A typed request from RabbitMQ's HTTP auth backend, parsed from its form.
//
// The parser accepts exactly what the plugin sends (RabbitMQ 3.10 to 4.x):
// each endpoint's required parameters, once each; unknown parameters are
// ignored because newer brokers add context keys. Anything else, a missing
// or repeated known parameter, a resource or permission word we do not know,
// a name longer than AMQP's 255-byte limit, is refused with a reason, never
// defaulted.

#include <optional>
#include <string>
#include <string_view>

#include "authsvc/core/form.h"

namespace authsvc {

enum class Endpoint { user, vhost, resource, topic };
enum class ResourceKind { exchange, queue, topic };
enum class Permission { configure, write, read };

std::string_view to_string(Endpoint e);
std::string_view to_string(ResourceKind r);
std::string_view to_string(Permission p);

// "/auth/user" -> Endpoint::user; nullopt for any other path.
std::optional<Endpoint> endpoint_from_path(std::string_view path);
std::optional<ResourceKind> resource_kind_from_string(std::string_view s);
std::optional<Permission> permission_from_string(std::string_view s);

struct AuthRequest {
  Endpoint endpoint = Endpoint::user;
  std::string username;
  // Only for Endpoint::user. Absent (nullopt) with x509/EXTERNAL logins.
  std::optional<std::string> password;
  std::string vhost;                               // all but Endpoint::user
  std::string client_ip;                           // Endpoint::vhost: the AMQP client's address
  ResourceKind resource = ResourceKind::exchange;  // resource and topic
  std::string name;                                // resource and topic
  Permission permission = Permission::read;        // resource and topic
  std::string routing_key;                         // topic
};

// The request, or nullopt with *error set to a one-line reason.
std::optional<AuthRequest> parse_auth_request(Endpoint endpoint, const Form& form,
                                              std::string* error);

}  // namespace authsvc
