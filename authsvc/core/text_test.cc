#include "authsvc/core/text.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_CASE("hex digits both ways, in either case") {
  CHECK(hex_digit_value('0') == 0);
  CHECK(hex_digit_value('9') == 9);
  CHECK(hex_digit_value('a') == 10);
  CHECK(hex_digit_value('F') == 15);
  for (char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0'}) {
    CAPTURE(c);
    CHECK(hex_digit_value(c) == -1);
  }
  CHECK(hex_encode(std::string_view("\x00\x7f\xff\x10", 4)) == "007fff10");
  CHECK(hex_encode("\xab", kHexDigitsUpper) == "AB");
  CHECK(hex_encode("").empty());
}

TEST_CASE("control characters are C0 and DEL, and printable() escapes them and backslashes") {
  CHECK(is_control(0x00));
  CHECK(is_control(0x1f));
  CHECK(is_control(0x7f));
  CHECK_FALSE(is_control(' '));
  CHECK_FALSE(is_control(0x80));
  CHECK(has_control("a\tb"));
  CHECK_FALSE(has_control("caf\xc3\xa9 ~"));
  CHECK(printable("plain text, caf\xc3\xa9") == "plain text, caf\xc3\xa9");
  CHECK(printable("a\nb\r\x7f") == "a\\x0ab\\x0d\\x7f");
  // A backslash is escaped too, so that "\x0a" typed by someone cannot pass
  // for an escaped newline.
  CHECK(printable("\\x0a") == "\\\\x0a");
}

TEST_CASE("UTF-8: valid sequences, and how much of an invalid one to replace") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("ascii"));
  CHECK(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));                        // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));                    // a surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));                // past U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));                        // cut short
  CHECK_FALSE(is_valid_utf8("\x80"));                            // a lone continuation
  Utf8Sequence euro = utf8_sequence("\xe2\x82\xac!");
  CHECK(euro.valid);
  CHECK(euro.length == 3);
  // The lead byte and the continuations that still fit it go as one.
  Utf8Sequence cut = utf8_sequence("\xe2\x82!");
  CHECK_FALSE(cut.valid);
  CHECK(cut.length == 2);
  Utf8Sequence lone = utf8_sequence("\xff\x80");
  CHECK_FALSE(lone.valid);
  CHECK(lone.length == 1);
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("ascii_lower folds A-Z alone, as e-mail addresses are compared") {
  CHECK(ascii_lower("Alice@Example.ORG") == "alice@example.org");
  CHECK(ascii_lower("\xc3\x89") == "\xc3\x89");  // É stays: only ASCII folds
  CHECK(ascii_lower("") == "");
  CHECK(ascii_lower("[Z]@^_`") == "[z]@^_`");
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("trim_blanks drops spaces and tabs at both ends, nothing else") {
  CHECK(trim_blanks("  a b\t") == "a b");
  CHECK(trim_blanks("\t \t") == "");
  CHECK(trim_blanks("") == "");
  CHECK(trim_blanks("\na\r") == "\na\r");
}

}  // namespace authsvc
