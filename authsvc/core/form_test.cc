#include "authsvc/core/form.h"

#include <doctest/doctest.h>

#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::decode_ok;

// The error for text that must be malformed.
std::string decode_error(std::string_view text) {
  std::string error;
  std::optional<Form> form = Form::decode(text, &error);
  INFO("text: ", text);
  REQUIRE_FALSE(form.has_value());
  return error;
}

// The single value of `key`, which must occur exactly once.
std::string value_of(const Form& form, std::string_view key) {
  INFO("key: ", key);
  REQUIRE(form.count(key) == 1);
  const std::string_view* value = form.find(key);
  REQUIRE(value != nullptr);
  return std::string(*value);
}

// `text` decodes to exactly the fields `expected`, in this order.
void check_decodes_to(std::string_view text,
                      const std::vector<std::pair<std::string_view, std::string_view>>& expected) {
  Form form = decode_ok(text);
  REQUIRE(form.fields().size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(form.fields()[i].key == expected[i].first);
    CHECK(form.fields()[i].value == expected[i].second);
  }
}

// Whether `text` holds the number `n` as a whole number (not as part of a
// longer one): "in field 2" names field 2, "in field 12" does not.
bool names_number(std::string_view text, std::size_t n) {
  std::string digits = std::to_string(n);
  for (std::size_t at = text.find(digits); at != std::string_view::npos;
       at = text.find(digits, at + 1)) {
    bool digit_before = at > 0 && std::isdigit(static_cast<unsigned char>(text[at - 1]));
    std::size_t after = at + digits.size();
    bool digit_after = after < text.size() && std::isdigit(static_cast<unsigned char>(text[after]));
    if (!digit_before && !digit_after) return true;
  }
  return false;
}

TEST_SUITE("form") {
  TEST_CASE("percent escapes decode to their byte with upper- or lower-case hex") {
    check_decodes_to("upper=%41%4A%5A&lower=%61%6a%7a&mixed=%4a%4A%2f%2F",
                     {{"upper", "AJZ"}, {"lower", "ajz"}, {"mixed", "JJ//"}});
  }

  TEST_CASE("%2F decodes to a slash inside a resource name") {
    check_decodes_to("name=exchange%2Falice%2Ftest", {{"name", "exchange/alice/test"}});
  }

  TEST_CASE("%00 decodes to a NUL byte that is kept, not a string end") {
    Form form = decode_ok("name=a%00b&next=c");
    std::string value = value_of(form, "name");
    CHECK(value.size() == 3);
    CHECK(value == std::string("a\0b", 3));
    CHECK(value_of(form, "next") == "c");
  }

  TEST_CASE("%FF and %ff decode to the raw byte 0xFF, not to UTF-8") {
    check_decodes_to("upper=%FF&lower=%ff&pair=%C3%A9",
                     {{"upper", "\xFF"}, {"lower", "\xFF"}, {"pair", "\xC3\xA9"}});
  }

  TEST_CASE("'+' decodes to a space while %2B decodes to '+'") {
    check_decodes_to(
        "tags=administrator+management&key=a%2Bb&both=x+%2B+y&k+ey=1",
        {{"tags", "administrator management"}, {"key", "a+b"}, {"both", "x + y"}, {"k ey", "1"}});
  }

  TEST_CASE("%25 decodes to a '%' that is not decoded again") {
    check_decodes_to("v=%2541", {{"v", "%41"}});
  }

  TEST_CASE("keys are percent-decoded like values") {
    check_decodes_to("variable%5Fmap.username=alice", {{"variable_map.username", "alice"}});
  }

  TEST_CASE("only the first '=' separates key and value") {
    check_decodes_to("a==b=c", {{"a", "=b=c"}});
  }

  TEST_CASE("repeated keys are all kept in order and counted") {
    check_decodes_to("a=1&b=2&a=3&a=4", {{"a", "1"}, {"b", "2"}, {"a", "3"}, {"a", "4"}});
    Form form = decode_ok("a=1&b=2&a=3&a=4");
    CHECK(form.count("a") == 3);
    CHECK(form.count("b") == 1);
    CHECK(form.count("c") == 0);
    // find() answers the first occurrence.
    REQUIRE(form.find("a") != nullptr);
    CHECK(*form.find("a") == "1");
    CHECK(form.find("c") == nullptr);
  }

  TEST_CASE("keys are compared exactly: no prefix or case folding") {
    Form form = decode_ok("username=alice&user=x");
    CHECK(form.count("user") == 1);
    CHECK(form.count("username") == 1);
    CHECK(form.count("User") == 0);
    CHECK(form.count("usernam") == 0);
    CHECK(form.find("USERNAME") == nullptr);
  }

  TEST_CASE("an empty value is a field with an empty string") {
    Form form = decode_ok("tags=");
    REQUIRE(form.fields().size() == 1);
    CHECK(form.fields()[0].key == "tags");
    CHECK(form.fields()[0].value.empty());
    REQUIRE(form.find("tags") != nullptr);
    CHECK(form.find("tags")->empty());

    Form two = decode_ok("a=&b=");
    CHECK(two.fields().size() == 2);
    CHECK(value_of(two, "a").empty());
    CHECK(value_of(two, "b").empty());
  }

  TEST_CASE("empty text is a valid form with no fields") {
    Form form = decode_ok("");
    CHECK(form.fields().empty());
    CHECK(form.count("") == 0);
    CHECK(form.find("username") == nullptr);
  }

  TEST_CASE("a '%' without two hex digits makes the whole text malformed") {
    const char* inputs[] = {
        "%",        "a=%",         "a=%4",       "a=%G1",  "a=%4G", "a=x%&b=1",
        "a=%4&b=1", "a=x%G1y&b=1", "a=%4Gx&b=1", "a=%%41", "%zz=1", "a%=1",
        "a=1&b=%",  "a=1&b=%4",    "a=%-1",      "a=% 1",  "a=%4+", "a=%0x41",
    };
    for (const char* input : inputs) {
      CAPTURE(input);
      std::string error = decode_error(input);
      CHECK_FALSE(error.empty());
    }
  }

  TEST_CASE("a bad escape's error names the field it is in") {
    CHECK(names_number(decode_error("a=%G1"), 1));
    CHECK(names_number(decode_error("a=1&b=%4"), 2));
    CHECK(names_number(decode_error("a=1&b=2&c=%4G&d=4"), 3));
    CHECK(names_number(decode_error("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=%"), 12));
    // Field 12's error does not also read as field 1 or 2.
    std::string error = decode_error("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=%");
    CHECK_FALSE(names_number(error, 1));
    CHECK_FALSE(names_number(error, 2));
  }

  TEST_CASE("an empty field makes the whole text malformed") {
    const char* inputs[] = {"a=1&&b=2", "a=1&", "&a=1", "&", "&&", "a=1&b=2&"};
    for (const char* input : inputs) {
      CAPTURE(input);
      CHECK_FALSE(decode_error(input).empty());
    }
  }

  TEST_CASE("a field without '=' makes the whole text malformed") {
    const char* inputs[] = {"flag", "a=1&flag", "flag&a=1", "a=1&flag&b=2", "%3D"};
    for (const char* input : inputs) {
      CAPTURE(input);
      CHECK_FALSE(decode_error(input).empty());
    }
  }

  TEST_CASE("a field with an empty key makes the whole text malformed") {
    const char* inputs[] = {"=x", "=", "a=1&=x", "=x&a=1"};
    for (const char* input : inputs) {
      CAPTURE(input);
      CHECK_FALSE(decode_error(input).empty());
    }
  }

  TEST_CASE("an empty field, a field without '=' or an empty key's error names its field") {
    CHECK(names_number(decode_error("a=1&&b=2"), 2));
    CHECK(names_number(decode_error("a=1&"), 2));
    CHECK(names_number(decode_error("&a=1"), 1));
    CHECK(names_number(decode_error("a=1&flag"), 2));
    CHECK(names_number(decode_error("a=1&=x"), 2));
  }

  TEST_CASE("RabbitMQ 3.10's login request decodes") {
    check_decodes_to("username=alice&password=secret",
                     {{"username", "alice"}, {"password", "secret"}});
  }

  TEST_CASE("RabbitMQ 3.10's vhost request decodes, IPv6-mapped address and empty tags") {
    check_decodes_to(
        "username=alice&vhost=%2F&ip=%3A%3Affff%3A127.0.0.1&tags=",
        {{"username", "alice"}, {"vhost", "/"}, {"ip", "::ffff:127.0.0.1"}, {"tags", ""}});
  }

  TEST_CASE("RabbitMQ 3.10's resource request decodes") {
    check_decodes_to(
        "username=alice&vhost=%2F&resource=exchange&name=exchange%2Falice%2Ftest&permission="
        "configure&tags=",
        {{"username", "alice"},
         {"vhost", "/"},
         {"resource", "exchange"},
         {"name", "exchange/alice/test"},
         {"permission", "configure"},
         {"tags", ""}});
  }

  TEST_CASE("RabbitMQ 3.10's topic request decodes, '*' in the routing key included") {
    check_decodes_to(
        "username=alice&vhost=%2F&resource=topic&name=exchange%2Falice%2Ftest&permission=read&"
        "tags=&routing_key=a.%2A.c&variable_map.username=alice&variable_map.vhost=%2F",
        {{"username", "alice"},
         {"vhost", "/"},
         {"resource", "topic"},
         {"name", "exchange/alice/test"},
         {"permission", "read"},
         {"tags", ""},
         {"routing_key", "a.*.c"},
         {"variable_map.username", "alice"},
         {"variable_map.vhost", "/"}});
  }

  TEST_CASE("a routing key's '#' arrives as %23 and decodes") {
    Form form = decode_ok("routing_key=build.%23");
    CHECK(value_of(form, "routing_key") == "build.#");
  }

  TEST_CASE("the plugin's own test queries decode") {
    Form resource =
        decode_ok("username=guest&vhost=%2F&resource=topic&name=amp.topic&permission=write");
    CHECK(value_of(resource, "name") == "amp.topic");
    Form topic = decode_ok(
        "username=guest&routing_key=a.b.c&variable_map.username=guest&variable_map.vhost=other-"
        "vhost");
    CHECK(value_of(topic, "variable_map.vhost") == "other-vhost");
  }

  TEST_CASE("every byte from 0x00 to 0xFF round-trips through %XX") {
    static const char kHex[] = "0123456789ABCDEF";
    std::string text = "v=";
    std::string expected;
    for (int b = 0; b < 256; ++b) {
      text += '%';
      text += kHex[b / 16];
      text += kHex[b % 16];
      expected += static_cast<char>(b);
    }
    Form form = decode_ok(text);
    CHECK(value_of(form, "v") == expected);
  }
}

}  // namespace
}  // namespace authsvc

namespace authsvc {

TEST_CASE("form_encoded gives text that decodes to exactly the same bytes") {
  CHECK(form_encoded("alice") == "alice");
  CHECK(form_encoded("a b+c&d=e%") == "a%20b%2Bc%26d%3De%25");
  CHECK(form_encoded("A-z_0.~") == "A-z_0.~");
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  std::string error;
  std::optional<Form> form = Form::decode("v=" + form_encoded(every_byte), &error);
  REQUIRE(form);
  CHECK(*form->find("v") == every_byte);
}

}  // namespace authsvc
