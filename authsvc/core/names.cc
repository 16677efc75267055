#include "authsvc/core/names.h"

#include "authsvc/core/text.h"

namespace authsvc {
namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool is_valid_user_name(std::string_view name) { return user_name_problem(name).empty(); }

std::string user_name_problem(std::string_view name) {
  if (name.empty()) return "a user name cannot be empty";
  if (name.size() > 64) return "a user name has at most 64 characters";
  if (!is_letter(name.front())) return "a user name must start with a letter (A-Z, a-z)";
  for (char c : name) {
    if (!(is_letter(c) || is_digit(c) || c == '.' || c == '_' || c == '-')) {
      return "a user name may only hold letters, digits, '.', '_' and '-' "
             "(pattern ^[A-Za-z][A-Za-z0-9._-]{0,63}$)";
    }
  }
  return {};
}

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 64) return false;
  for (char c : tag) {
    if (!(is_letter(c) || is_digit(c) || c == '.' || c == '_' || c == '-' || c == ':')) {
      return false;
    }
  }
  return true;
}

bool is_valid_vhost(std::string_view vhost) {
  if (vhost.empty() || vhost.size() > 255) return false;
  return !has_control(vhost);
}

}  // namespace authsvc
