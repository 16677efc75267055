#pragma once
// A request's path as the router reads it: split at '/', each segment
// percent-decoded on its own, so that an encoded '/' (%2F, the vhost "/")
// stays inside its segment. The encoder is core/form.h's form_encoded(),
// which writes every byte but the unreserved ones as %XX.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

// "/accounts/alice-app" -> {"accounts", "alice-app"}; "/" -> {}. nullopt if
// the path does not start with '/', has an empty segment ("//", a trailing
// '/'), a '%' not followed by two hex digits, or a decoded segment that is
// "." or ".." or holds a control character.
std::optional<std::vector<std::string>> path_segments(std::string_view path);

}  // namespace authsvc
