#include "authsvc/core/form.h"

#include <doctest/doctest.h>

#include <cctype>
#include <string>
#include <string_view>
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
    Form form = decode_ok("upper=%41%4A%5A&lower=%61%6a%7a&mixed=%4a%4A%2f%2F");
    CHECK(value_of(form, "upper") == "AJZ");
    CHECK(value_of(form, "lower") == "ajz");
    CHECK(value_of(form, "mixed") == "JJ//");
  }

  TEST_CASE("%2F decodes to a slash inside a resource name") {
    Form form = decode_ok("name=exchange%2Falice%2Ftest");
    CHECK(value_of(form, "name") == "exchange/alice/test");
  }

  TEST_CASE("%00 decodes to a NUL byte that is kept, not a string end") {
    Form form = decode_ok("name=a%00b&next=c");
    std::string value = value_of(form, "name");
    CHECK(value.size() == 3);
    CHECK(value == std::string("a\0b", 3));
    CHECK(value_of(form, "next") == "c");
  }

  TEST_CASE("%FF and %ff decode to the raw byte 0xFF, not to UTF-8") {
    Form form = decode_ok("upper=%FF&lower=%ff&pair=%C3%A9");
    CHECK(value_of(form, "upper") == std::string(1, '\xFF'));
    CHECK(value_of(form, "lower") == std::string(1, '\xFF'));
    CHECK(value_of(form, "pair") == "\xC3\xA9");
  }

  TEST_CASE("'+' decodes to a space while %2B decodes to '+'") {
    Form form = decode_ok("tags=administrator+management&key=a%2Bb&both=x+%2B+y&k+ey=1");
    CHECK(value_of(form, "tags") == "administrator management");
    CHECK(value_of(form, "key") == "a+b");
    CHECK(value_of(form, "both") == "x + y");
    CHECK(value_of(form, "k ey") == "1");
    CHECK(form.count("k+ey") == 0);
  }

  TEST_CASE("%25 decodes to a '%' that is not decoded again") {
    Form form = decode_ok("v=%2541");
    CHECK(value_of(form, "v") == "%41");
  }

  TEST_CASE("keys are percent-decoded like values") {
    Form form = decode_ok("variable%5Fmap.username=alice");
    CHECK(value_of(form, "variable_map.username") == "alice");
  }

  TEST_CASE("only the first '=' separates key and value") {
    Form form = decode_ok("a==b=c");
    CHECK(value_of(form, "a") == "=b=c");
  }

  TEST_CASE("repeated keys are all kept in order and counted") {
    Form form = decode_ok("a=1&b=2&a=3&a=4");
    REQUIRE(form.fields().size() == 4);
    CHECK(form.fields()[0].key == "a");
    CHECK(form.fields()[0].value == "1");
    CHECK(form.fields()[1].key == "b");
    CHECK(form.fields()[1].value == "2");
    CHECK(form.fields()[2].key == "a");
    CHECK(form.fields()[2].value == "3");
    CHECK(form.fields()[3].key == "a");
    CHECK(form.fields()[3].value == "4");
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
    Form form = decode_ok("username=alice&password=secret");
    REQUIRE(form.fields().size() == 2);
    CHECK(value_of(form, "username") == "alice");
    CHECK(value_of(form, "password") == "secret");
  }

  TEST_CASE("RabbitMQ 3.10's vhost request decodes, IPv6-mapped address and empty tags") {
    Form form = decode_ok("username=alice&vhost=%2F&ip=%3A%3Affff%3A127.0.0.1&tags=");
    REQUIRE(form.fields().size() == 4);
    CHECK(form.fields()[0].key == "username");
    CHECK(form.fields()[1].key == "vhost");
    CHECK(form.fields()[2].key == "ip");
    CHECK(form.fields()[3].key == "tags");
    CHECK(value_of(form, "username") == "alice");
    CHECK(value_of(form, "vhost") == "/");
    CHECK(value_of(form, "ip") == "::ffff:127.0.0.1");
    CHECK(value_of(form, "tags") == "");
  }

  TEST_CASE("RabbitMQ 3.10's resource request decodes") {
    Form form = decode_ok(
        "username=alice&vhost=%2F&resource=exchange&name=exchange%2Falice%2Ftest&permission="
        "configure&tags=");
    CHECK(form.fields().size() == 6);
    CHECK(value_of(form, "vhost") == "/");
    CHECK(value_of(form, "resource") == "exchange");
    CHECK(value_of(form, "name") == "exchange/alice/test");
    CHECK(value_of(form, "permission") == "configure");
    CHECK(value_of(form, "tags") == "");
  }

  TEST_CASE("RabbitMQ 3.10's topic request decodes, '*' in the routing key included") {
    Form form = decode_ok(
        "username=alice&vhost=%2F&resource=topic&name=exchange%2Falice%2Ftest&permission=read&"
        "tags=&routing_key=a.%2A.c&variable_map.username=alice&variable_map.vhost=%2F");
    REQUIRE(form.fields().size() == 9);
    CHECK(value_of(form, "username") == "alice");
    CHECK(value_of(form, "vhost") == "/");
    CHECK(value_of(form, "resource") == "topic");
    CHECK(value_of(form, "name") == "exchange/alice/test");
    CHECK(value_of(form, "permission") == "read");
    CHECK(value_of(form, "tags") == "");
    CHECK(value_of(form, "routing_key") == "a.*.c");
    CHECK(value_of(form, "variable_map.username") == "alice");
    CHECK(value_of(form, "variable_map.vhost") == "/");
    CHECK(form.fields()[8].key == "variable_map.vhost");
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
