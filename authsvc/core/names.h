#pragma once
// What user names, tags and vhost names may be.
//
// A user name ends up in resource names (exchange/<user>/...), audit lines
// and shells, so its charset is strict: a letter, then up to 63 letters,
// digits, '.', '_' or '-'. No '/', so a name can never reach into another
// user's prefix.

#include <string>
#include <string_view>

namespace authsvc {

bool is_valid_user_name(std::string_view name);

// Why `name` is refused, for messages: empty when it is valid.
std::string user_name_problem(std::string_view name);

// Tags become Erlang atoms in the broker: same spirit, ':' allowed
// (RabbitMQ tags like "group:dev"), 1 to 64 characters.
bool is_valid_tag(std::string_view tag);

// A vhost name as RabbitMQ allows it: 1 to 255 bytes, no control characters.
bool is_valid_vhost(std::string_view vhost);

}  // namespace authsvc
