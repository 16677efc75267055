#include "authsvc/cli/log_file_reader.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <random>

#include "authsvc/core/error.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::TempDir;

// `text` compressed as one gzip member, as gzip(1) and logrotate write it.
std::string gzipped(const std::string& text) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(text.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Blocks {
  std::string text;         // every block, one after another
  bool whole_lines = true;  // every block but the last ended with '\n'
  bool ended = false;       // at_end() after the last block
};

Blocks read_all(const std::string& path) {
  LogFileReader reader(path);
  Blocks blocks;
  for (std::string_view block = reader.next(); !block.empty(); block = reader.next()) {
    if (!blocks.text.empty() && blocks.text.back() != '\n') blocks.whole_lines = false;
    blocks.text += block;
  }
  blocks.ended = reader.at_end();
  return blocks;
}

// Lines of 1 to 3000 bytes, about `size` bytes in all.
std::string lines_of_size(std::size_t size) {
  std::mt19937 rng(7);
  std::string text;
  while (text.size() < size) {
    text += std::string(1 + rng() % 3000, static_cast<char>('a' + rng() % 26));
    text += '\n';
  }
  return text;
}

}  // namespace

TEST_CASE("a plain file comes in blocks of whole lines, a gzip file the same, by its content") {
  TempDir dir;
  const std::string text = lines_of_size(5'000'000);
  testing::write_file(dir.file("audit.log"), text);
  // Named as logrotate names them, and not: the first bytes decide.
  testing::write_file(dir.file("audit.log.1.gz"), gzipped(text));
  testing::write_file(dir.file("audit.log.2"), gzipped(text));
  testing::write_file(dir.file("plain.gz"), text);
  for (const char* name : {"audit.log", "audit.log.1.gz", "audit.log.2", "plain.gz"}) {
    CAPTURE(name);
    Blocks blocks = read_all(dir.file(name));
    CHECK(blocks.text == text);
    CHECK(blocks.whole_lines);
    CHECK(blocks.ended);
  }
}

TEST_CASE("gzip members one after another read as one file") {
  TempDir dir;
  testing::write_file(dir.file("two.gz"), gzipped("{\"a\":1}\n") + gzipped("{\"b\":2}\n"));
  CHECK(read_all(dir.file("two.gz")).text == "{\"a\":1}\n{\"b\":2}\n");
}

TEST_CASE("a last line without its newline, an empty file, a file of one byte") {
  TempDir dir;
  testing::write_file(dir.file("open"), "one\ntwo");
  testing::write_file(dir.file("open.gz"), gzipped("one\ntwo"));
  for (const char* name : {"open", "open.gz"}) {
    Blocks blocks = read_all(dir.file(name));
    CHECK(blocks.text == "one\ntwo");
    CHECK(blocks.ended);
  }
  testing::write_file(dir.file("empty"), "");
  CHECK(read_all(dir.file("empty")).text.empty());
  CHECK(read_all(dir.file("empty")).ended);
  testing::write_file(dir.file("one"), "\x1f");
  CHECK(read_all(dir.file("one")).text == "\x1f");
}

TEST_CASE("a line too long for the buffer comes cut, before the end of the file") {
  TempDir dir;
  testing::write_file(dir.file("long"),
                      "short\n" + std::string(3 * LogFileReader::kMaxLine, 'x') + "\nafter\n");
  LogFileReader reader(dir.file("long"));
  std::string_view block = reader.next();
  if (block == "short\n") block = reader.next();
  CHECK(block.size() == LogFileReader::kMaxLine);
  CHECK(block.find_first_not_of('x') == std::string_view::npos);
  CHECK_FALSE(reader.at_end());
}

TEST_CASE("a missing file, a folder, bad or cut gzip: one line naming the file") {
  TempDir dir;
  std::string gz = gzipped(lines_of_size(100'000));
  testing::write_file(dir.file("cut.gz"), gz.substr(0, gz.size() / 2));
  std::string corrupt = gz;
  for (std::size_t i = 100; i < 200; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x55);
  testing::write_file(dir.file("corrupt.gz"), corrupt);
  testing::write_file(dir.file("trailing.gz"), gz + "not gzip");
  struct Case {
    std::string path;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {dir.file("missing"),
            "cannot read '" + dir.file("missing") + "': No such file or directory"},
           {dir.path().string(), "cannot read '" + dir.path().string() + "': Is a directory"},
           {dir.file("cut.gz"), "cannot read '" + dir.file("cut.gz") + "': gzip data cut short"},
           {dir.file("corrupt.gz"),
            "cannot read '" + dir.file("corrupt.gz") + "': not valid gzip data ("},
           {dir.file("trailing.gz"),
            "cannot read '" + dir.file("trailing.gz") + "': not valid gzip data ("},
       }) {
    CAPTURE(c.path);
    try {
      read_all(c.path);
      FAIL("no error");
    } catch (const Error& e) {
      std::string what = e.what();
      CHECK(what.rfind(c.message, 0) == 0);
      CHECK(what.find('\n') == std::string::npos);
    }
  }
}

}  // namespace authsvc
