#include "authsvc/core/json_line.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "authsvc/core/text.h"

namespace authsvc {
namespace {

// What nlohmann::json writes for `value` with invalid UTF-8 replaced.
std::string reference(const std::string& value) {
  return nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ours(const std::string& value) {
  std::string out;
  append_json_string(value, &out);
  return out;
}

}  // namespace

TEST_CASE("strings are escaped exactly as nlohmann::json escapes them") {
  for (const std::string& s : std::vector<std::string>{"",
                                                       "plain",
                                                       "quote\" backslash\\ slash/",
                                                       std::string("nul\0byte", 8),
                                                       "\b\f\n\r\t",
                                                       "\x01\x1f\x7f",
                                                       "caf\xC3\xA9",
                                                       "\xE2\x82\xAC euro",
                                                       "\xF0\x9F\x98\x80 emoji",
                                                       "\xFF",
                                                       "\x80",
                                                       "\xC3",
                                                       "\xE2\x82",
                                                       "\xE2\x82\x41",
                                                       "\xC0\xAF",
                                                       "\xE0\x80\xAF",
                                                       "\xED\xA0\x80",
                                                       "\xF4\x90\x80\x80",
                                                       "\xF0\x8F\xBF\xBF",
                                                       "a\xF0\x9F\x98",
                                                       "\xC3\xC3\xA9"}) {
    CAPTURE(s);
    CHECK(ours(s) == reference(s));
  }
}

TEST_CASE("arbitrary bytes: the same output as nlohmann, always valid JSON") {
  std::mt19937 rng(20261127);
  // Bytes weighted towards the interesting ones: ASCII, controls, UTF-8 leads
  // and continuations, and invalid bytes.
  const std::vector<unsigned char> alphabet = {'a',  'Z',  '"',  '\\', '/',  0x00, 0x1f, 0x7f, 0x80,
                                               0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0,
                                               0xe1, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
  int mismatches = 0;
  std::string first_mismatch;
  for (int i = 0; i < 50000; ++i) {
    std::string s(rng() % 12, '\0');
    for (char& c : s) c = static_cast<char>(alphabet[rng() % alphabet.size()]);
    if (ours(s) != reference(s)) {
      if (mismatches++ == 0) first_mismatch = s;
    }
  }
  INFO("first mismatch, bytes: " << hex_encode(first_mismatch));
  CHECK(mismatches == 0);
}

TEST_CASE("a JsonLine is one object with its fields in order") {
  std::string text = "left over from a previous line";
  JsonLine line(&text);
  line.add("ts", "2026-11-27T23:18:49.123456Z").add("us", std::int64_t{-12}).add("ok", true);
  line.add("name", "a\nb").finish();
  CHECK(text == R"({"ts":"2026-11-27T23:18:49.123456Z","us":-12,"ok":true,"name":"a\nb"})");
  JsonLine(&text).finish();
  CHECK(text == "{}");
}

}  // namespace authsvc
