#include "authsvc/import/broker_regex.h"

#include <re2/re2.h>

namespace authsvc {

std::optional<BrokerRegex> BrokerRegex::compile(std::string_view text, std::string* error) {
  RE2::Options options;
  // Erlang's re:run on a binary without the unicode option: bytes.
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  BrokerRegex regex;
  regex.text_ = std::string(text);
  regex.re_ = std::make_unique<re2::RE2>(text.empty() ? std::string_view("^$") : text, options);
  if (!regex.re_->ok()) {
    *error = regex.re_->error();
    return std::nullopt;
  }
  return regex;
}

BrokerRegex::BrokerRegex(BrokerRegex&&) noexcept = default;
BrokerRegex& BrokerRegex::operator=(BrokerRegex&&) noexcept = default;
BrokerRegex::~BrokerRegex() = default;

bool BrokerRegex::matches(std::string_view name) const { return RE2::PartialMatch(name, *re_); }

std::string expand_topic_variables(std::string_view regex, std::string_view user,
                                   std::string_view vhost) {
  std::string out(regex);
  for (auto [placeholder, value] : {std::pair{std::string_view("{username}"), user},
                                    std::pair{std::string_view("{vhost}"), vhost}}) {
    for (std::size_t at = out.find(placeholder); at != std::string::npos;
         at = out.find(placeholder, at + value.size())) {
      out.replace(at, placeholder.size(), value);
    }
  }
  return out;
}

}  // namespace authsvc
