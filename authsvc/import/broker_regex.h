#pragma once
// A permission regex as RabbitMQ's internal backend applies it
// (rabbit_auth_backend_internal.erl, check_resource_access and
// check_topic_access): `re:run(Name, Regex)`, so the regex may match
// anywhere in the name unless it anchors itself; the empty regex is taken
// as "^$" and so matches only the empty name, which no queue or exchange
// has (the default exchange is checked as "amq.default"); names are
// matched as bytes.
//
// RabbitMQ uses PCRE; this uses RE2, which has no backreferences and no
// lookaround. A regex RE2 refuses cannot be compared, and says so: a
// migration report then names it instead of guessing.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace authsvc {

class BrokerRegex {
 public:
  // nullopt, with *error set to RE2's reason, if RE2 cannot compile it.
  static std::optional<BrokerRegex> compile(std::string_view text, std::string* error);
  BrokerRegex(BrokerRegex&&) noexcept;
  BrokerRegex& operator=(BrokerRegex&&) noexcept;
  ~BrokerRegex();

  bool matches(std::string_view name) const;
  const std::string& text() const { return text_; }

 private:
  BrokerRegex() = default;
  std::string text_;
  std::unique_ptr<re2::RE2> re_;
};

// A topic permission regex with the broker's variables filled in, as
// RabbitMQ does before matching a routing key: each "{username}" and
// "{vhost}" replaced by the value, literally (not quoted).
std::string expand_topic_variables(std::string_view regex, std::string_view user,
                                   std::string_view vhost);

}  // namespace authsvc
