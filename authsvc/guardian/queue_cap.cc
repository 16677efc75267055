#include "authsvc/guardian/queue_cap.h"

#include <string>

#include "authsvc/core/text.h"
#include "authsvc/core/token.h"

namespace authsvc {

std::string cap_policy_name(std::string_view vhost, std::string_view queue) {
  std::string key(vhost);
  key += '\0';
  key += queue;
  TokenHash digest = hash_token(key);
  std::string_view bytes(reinterpret_cast<const char*>(digest.data()), 8);
  return std::string(kCapPolicyPrefix) + hex_encode(bytes);
}

bool is_cap_policy(std::string_view policy) { return policy.starts_with(kCapPolicyPrefix); }

std::string cap_policy_pattern(std::string_view queue) {
  // Every ASCII character but a letter, a digit or '_' escaped (a '\'
  // before a non-alphanumeric is always that character in PCRE); bytes of
  // UTF-8 sequences stand for themselves. \z, not $: $ also matches
  // before a final newline.
  std::string pattern = "^";
  for (char c : queue) {
    auto u = static_cast<unsigned char>(c);
    bool plain = u >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '_';
    if (!plain) pattern += '\\';
    pattern += c;
  }
  return pattern + "\\z";
}

bool drops_oldest(const QueueInfo& queue) {
  return queue.overflow.empty() || queue.overflow == "drop-head";
}

bool cap_in_effect(const QueueInfo& queue) { return queue.capped_by_guardian; }

}  // namespace authsvc
