#include "authsvc/core/payload_sample.h"

#include <doctest/doctest.h>

#include <string>

namespace authsvc {
namespace {

TEST_CASE("payload sample: UTF-8 text stays, what could change the reading is escaped") {
  CHECK(escaped_sample("{\"a\": \"gr\xc3\xbc\xc3\x9f"
                       "e\"}",
                       100) ==
        "{\"a\": \"gr\xc3\xbc\xc3\x9f"
        "e\"}");
  CHECK(escaped_sample("a\x1b[31mred\x7f\nb\\c", 100) == "a\\x1b[31mred\\x7f\\x0ab\\\\c");
  CHECK(escaped_sample(std::string("nul\0end", 7), 100) == "nul\\x00end");
  // C1 controls, bidirectional overrides and isolates, line separators.
  CHECK(escaped_sample("\xc2\x9b"
                       "1m",
                       100) == "\\u{009B}1m");
  CHECK(escaped_sample("abc\xe2\x80\xae"
                       "fdp.exe",
                       100) == "abc\\u{202E}fdp.exe");
  CHECK(escaped_sample("\xe2\x81\xa6x\xe2\x81\xa9", 100) == "\\u{2066}x\\u{2069}");
  CHECK(escaped_sample("a\xe2\x80\xa8"
                       "b",
                       100) == "a\\u{2028}b");
  // Bytes that are not UTF-8, one escape each.
  CHECK(escaped_sample("\xff\xfe"
                       "ok\xc3",
                       100) == "\\xff\\xfeok\\xc3");
  CHECK(escaped_sample("\xed\xa0\x80", 100) == "\\xed\\xa0\\x80");
}

TEST_CASE("payload sample: cut at a character, saying how much was left out") {
  CHECK(escaped_sample("abcdef", 4) == "abcd ... (2 more bytes)");
  CHECK(escaped_sample("abcd", 4) == "abcd");
  // "ü" is two bytes: not split, left out whole.
  CHECK(escaped_sample("abc\xc3\xbc", 4) == "abc ... (2 more bytes)");
  CHECK(escaped_sample("", 4).empty());
  CHECK(escaped_sample("abc", 0) == " ... (3 more bytes)");
  std::string big(100 * 1024 * 1024, 'x');
  CHECK(escaped_sample(big, 16) == "xxxxxxxxxxxxxxxx ... (104857584 more bytes)");
}

}  // namespace
}  // namespace authsvc
