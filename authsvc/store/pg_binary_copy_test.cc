// PostgreSQL's binary COPY format, parsed from bytes made here: whole,
// cut anywhere, and broken. A real server's COPY is read in
// sql_database_test.cc (stream).
#include "authsvc/store/pg_binary_copy.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace authsvc {
namespace {

std::string big_endian(std::uint64_t value, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i) & 0xff));
  return out;
}

std::string header(std::uint32_t flags = 0, const std::string& extension = "") {
  return std::string("PGCOPY\n\377\r\n\0", 11) + big_endian(flags, 4) +
         big_endian(extension.size(), 4) + extension;
}

// A row of fields: nullopt is NULL.
std::string row(const std::vector<std::optional<std::string>>& fields) {
  std::string out = big_endian(fields.size(), 2);
  for (const auto& f : fields) {
    out += f ? big_endian(f->size(), 4) + *f : big_endian(0xffffffffu, 4);
  }
  return out;
}

const std::string kTrailer = big_endian(0xffff, 2);

// What a row holds, read as the tests' query would: id bigint, n integer,
// s text, b bytea.
struct Seen {
  std::int64_t id;
  std::optional<std::int64_t> n;
  std::optional<std::string> s;
  std::optional<std::vector<std::uint8_t>> b;
  bool operator==(const Seen&) const = default;
};

Seen read(const SqlRow& r) {
  Seen seen{r.int64(0), std::nullopt, std::nullopt, std::nullopt};
  if (!r.is_null(1)) seen.n = r.int64(1);
  if (!r.is_null(2)) seen.s = r.text(2);
  if (!r.is_null(3)) seen.b = r.bytes(3);
  return seen;
}

std::string sample() {
  return header(0, "ext") +
         row({big_endian(1, 8), big_endian(0xfffffffeu, 4), std::string("alice"),
              std::string("\x00\xff\\x", 4)}) +
         row({big_endian(0xffffffffffffffffull, 8), std::nullopt, std::string(), std::string()}) +
         row({big_endian(3, 8), big_endian(0x8000, 2), std::nullopt, std::nullopt}) + kTrailer;
}

const std::vector<Seen> kSampleRows = {
    {1, -2, "alice", std::vector<std::uint8_t>{0x00, 0xff, '\\', 'x'}},
    {-1, std::nullopt, "", std::vector<std::uint8_t>{}},
    {3, -32768, std::nullopt, std::nullopt},
};

// The messages' boundaries, at `cuts` (offsets into `data`).
std::vector<Seen> parse(const std::string& data, const std::vector<std::size_t>& cuts) {
  std::vector<Seen> rows;
  PgBinaryCopyParser parser([&](const SqlRow& r) { rows.push_back(read(r)); });
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    parser.feed({data.data() + at, cut - at});
    at = cut;
  }
  parser.feed({data.data() + at, data.size() - at});
  parser.finish();
  CHECK(parser.rows() == rows.size());
  return rows;
}

std::string error_of(const std::string& data) {
  try {
    parse(data, {});
  } catch (const SqlError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("pg binary copy: whole rows, each field as its type, NULL apart from empty") {
  CHECK(parse(sample(), {}) == kSampleRows);
}

TEST_CASE("pg binary copy: messages cut anywhere give the same rows") {
  const std::string data = sample();
  for (std::size_t cut = 1; cut < data.size(); ++cut) {
    CAPTURE(cut);
    REQUIRE(parse(data, {cut}) == kSampleRows);
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t cut = 1; cut < data.size(); ++cut) every_byte.push_back(cut);
  CHECK(parse(data, every_byte) == kSampleRows);
}

TEST_CASE("pg binary copy: no rows, only the header and the trailer") {
  CHECK(parse(header() + kTrailer, {}).empty());
}

TEST_CASE("pg binary copy: a broken stream is an error, never a row read past its bytes") {
  const std::string one = row({big_endian(1, 8), std::nullopt, std::nullopt, std::nullopt});
  CHECK(error_of("PGCOPY\n\377\r\n\1" + header().substr(11) + kTrailer).find("signature") !=
        std::string::npos);
  // Bit 16: the rows carry OIDs; any of 16-31 changes the format.
  CHECK(error_of(header(1u << 16) + kTrailer).find("flags") != std::string::npos);
  CHECK(error_of(header(1u << 31) + kTrailer).find("flags") != std::string::npos);
  // Bits 0-15 do not.
  CHECK(parse(header(1) + one + kTrailer, {}).size() == 1);
  CHECK(error_of(header() + big_endian(0xfffe, 2) + kTrailer).find("fields") != std::string::npos);
  CHECK(error_of(header() + big_endian(1, 2) + big_endian(0xfffffffe, 4) + kTrailer)
            .find("length -2") != std::string::npos);
  CHECK(error_of(header() + one + kTrailer + one).find("after its trailer") != std::string::npos);
  // Ended early: in the header, in a row, or before the trailer.
  CHECK(error_of(header().substr(0, 13)).find("without its trailer") != std::string::npos);
  CHECK(error_of(header() + one.substr(0, one.size() - 1)).find("without its trailer") !=
        std::string::npos);
  CHECK(error_of(header() + one).find("without its trailer") != std::string::npos);
  // A field longer than what follows is waited for, then missed.
  CHECK(error_of(header() + big_endian(1, 2) + big_endian(1000, 4) + "abc" + kTrailer)
            .find("without its trailer") != std::string::npos);
}

TEST_CASE("pg binary copy: a column read as what it cannot be is an error") {
  std::vector<std::string> errors;
  PgBinaryCopyParser parser([&](const SqlRow& r) {
    for (auto call : std::vector<std::function<void()>>{[&] { r.int64(1); },      // 3 bytes
                                                        [&] { r.int64(2); },      // NULL
                                                        [&] { r.text_view(2); },  // NULL
                                                        [&] { r.bytes(2); },      // NULL
                                                        [&] { r.text(4); },       // no such column
                                                        [&] { r.value(0); }}) {   // no type
      try {
        call();
        errors.push_back("");
      } catch (const SqlError& e) {
        errors.push_back(e.what());
      }
    }
  });
  std::string data =
      header() + row({big_endian(1, 8), std::string("abc"), std::nullopt}) + kTrailer;
  parser.feed({data.data(), data.size()});
  parser.finish();
  REQUIRE(errors.size() == 6);
  for (const std::string& e : errors) CHECK(!e.empty());
  CHECK(errors[4].find("no column 4") != std::string::npos);
}

}  // namespace
}  // namespace authsvc
