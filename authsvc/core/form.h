#pragma once
// Decoder for application/x-www-form-urlencoded text: a POST body or the
// query string of a GET, as RabbitMQ's HTTP auth backend sends them.
//
// Decoding is exact and strict because the policy must see precisely the
// bytes the broker meant: '+' is a space, "%XX" (either case of hex) is the
// byte 0xXX, every other byte stands for itself. A '%' not followed by two
// hex digits, an empty field ("a=1&&b=2") or a field without '=' make the
// whole text malformed; nothing is guessed. Decoded values may hold any
// byte, NUL and invalid UTF-8 included: judging them is the caller's job.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

struct FormField {
  std::string_view key;
  std::string_view value;
};

// Move-only: the fields are views into one buffer of decoded bytes that the
// Form owns, so that decoding a request costs two allocations, not two a
// field.
// `value` encoded as a form value: every byte but RFC 3986's unreserved
// ones as %XX, so that decode() gives back exactly these bytes. What a
// broker's request looks like, for `authsvc check` and the tests.
std::string form_encoded(std::string_view value);
// `value` as one segment of a URL path, in the links the web writes and the
// management API's paths (/api/queues/VHOST/NAME): form_encoded(), so that
// '/', '?' and '#' stay inside it, and "." and ".." as %2E and %2E%2E,
// which a browser or a server would otherwise resolve as the current and
// the parent folder.
std::string path_segment(std::string_view value);

class Form {
 public:
  // The decoded fields in order, or nullopt with *error set to a one-line
  // reason. Empty text is a valid form with no fields.
  static std::optional<Form> decode(std::string_view text, std::string* error);

  Form() = default;
  Form(Form&&) noexcept = default;
  Form& operator=(Form&&) noexcept = default;

  // The value of the first field named `key`, or nullptr. Valid as long as
  // the Form.
  const std::string_view* find(std::string_view key) const;
  // How many fields are named `key` (repeats are the caller's to refuse).
  std::size_t count(std::string_view key) const;
  const std::vector<FormField>& fields() const { return fields_; }

 private:
  std::unique_ptr<char[]> decoded_;  // heap, so views survive moves
  std::vector<FormField> fields_;
};

}  // namespace authsvc
