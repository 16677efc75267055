#include "authsvc/core/auth_request.h"

namespace authsvc {
namespace {

// RabbitMQ's names (users, vhosts, exchanges, queues, routing keys) are
// AMQP short strings: at most 255 bytes. A longer one cannot come from the
// broker, so it is refused rather than judged.
constexpr std::size_t kMaxNameBytes = 255;

// The value of a parameter that must appear exactly once.
const std::string_view* required(const Form& form, std::string_view key, std::string* error) {
  std::size_t n = form.count(key);
  if (n != 1) {
    *error = (n == 0 ? "missing parameter '" : "repeated parameter '") + std::string(key) + "'";
    return nullptr;
  }
  const std::string_view* value = form.find(key);
  if (value->size() > kMaxNameBytes) {
    *error = "parameter '" + std::string(key) + "' is longer than 255 bytes";
    return nullptr;
  }
  return value;
}

// An optional parameter may be absent but never repeated: two values would
// leave it to chance which one the broker meant.
bool at_most_once(const Form& form, std::string_view key, std::string* error) {
  if (form.count(key) <= 1) return true;
  *error = "repeated parameter '" + std::string(key) + "'";
  return false;
}

}  // namespace

std::string_view to_string(Endpoint e) {
  switch (e) {
    case Endpoint::user:
      return "user";
    case Endpoint::vhost:
      return "vhost";
    case Endpoint::resource:
      return "resource";
    case Endpoint::topic:
      return "topic";
  }
  return "?";
}

std::string_view to_string(ResourceKind r) {
  switch (r) {
    case ResourceKind::exchange:
      return "exchange";
    case ResourceKind::queue:
      return "queue";
    case ResourceKind::topic:
      return "topic";
  }
  return "?";
}

std::string_view to_string(Permission p) {
  switch (p) {
    case Permission::configure:
      return "configure";
    case Permission::write:
      return "write";
    case Permission::read:
      return "read";
  }
  return "?";
}

std::optional<Endpoint> endpoint_from_path(std::string_view path) {
  if (path == "/auth/user") return Endpoint::user;
  if (path == "/auth/vhost") return Endpoint::vhost;
  if (path == "/auth/resource") return Endpoint::resource;
  if (path == "/auth/topic") return Endpoint::topic;
  return std::nullopt;
}

std::optional<ResourceKind> resource_kind_from_string(std::string_view s) {
  if (s == "exchange") return ResourceKind::exchange;
  if (s == "queue") return ResourceKind::queue;
  if (s == "topic") return ResourceKind::topic;
  return std::nullopt;
}

std::optional<Permission> permission_from_string(std::string_view s) {
  if (s == "configure") return Permission::configure;
  if (s == "write") return Permission::write;
  if (s == "read") return Permission::read;
  return std::nullopt;
}

std::optional<AuthRequest> parse_auth_request(Endpoint endpoint, const Form& form,
                                              std::string* error) {
  AuthRequest req;
  req.endpoint = endpoint;
  const std::string_view* username = required(form, "username", error);
  if (!username) return std::nullopt;
  req.username = *username;

  if (endpoint == Endpoint::user) {
    if (!at_most_once(form, "password", error)) return std::nullopt;
    if (const std::string_view* password = form.find("password")) {
      req.password = std::string(*password);
    }
    return req;
  }

  const std::string_view* vhost = required(form, "vhost", error);
  if (!vhost) return std::nullopt;
  req.vhost = *vhost;

  if (endpoint == Endpoint::vhost) {
    if (!at_most_once(form, "ip", error)) return std::nullopt;
    if (const std::string_view* ip = form.find("ip")) req.client_ip = *ip;
    return req;
  }

  const std::string_view* resource = required(form, "resource", error);
  const std::string_view* name = resource ? required(form, "name", error) : nullptr;
  const std::string_view* permission = name ? required(form, "permission", error) : nullptr;
  if (!permission) return std::nullopt;

  std::optional<ResourceKind> kind = resource_kind_from_string(*resource);
  bool kind_fits = kind && ((endpoint == Endpoint::topic) == (*kind == ResourceKind::topic));
  if (!kind_fits) {
    *error = "resource '" + std::string(*resource) + "' is not valid on /auth/" +
             std::string(to_string(endpoint));
    return std::nullopt;
  }
  std::optional<Permission> perm = permission_from_string(*permission);
  // Topic checks are only ever for write (publish) or read (bind).
  if (!perm || (endpoint == Endpoint::topic && *perm == Permission::configure)) {
    *error = "permission '" + std::string(*permission) + "' is not valid on /auth/" +
             std::string(to_string(endpoint));
    return std::nullopt;
  }
  req.resource = *kind;
  req.name = *name;
  req.permission = *perm;

  if (endpoint == Endpoint::topic) {
    const std::string_view* routing_key = required(form, "routing_key", error);
    if (!routing_key) return std::nullopt;
    req.routing_key = *routing_key;
  }
  return req;
}

}  // namespace authsvc
