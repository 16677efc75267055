#pragma once
// The rows of PostgreSQL's binary COPY format (COPY ... TO STDOUT (FORMAT
// binary)), as SqlRows: how PgDatabase::stream() reads a result of a million
// rows. A COPY streams: the server sends rows while the client reads them,
// where FETCHing a cursor a batch at a time leaves one side idle while the
// other works; and binary fields need no parsing (an integer is 8 bytes,
// bytea its bytes, where text rows spell both out in digits and hex).
//
// The format (PostgreSQL's documentation, "COPY: Binary Format"): an
// 11-byte signature, a 32-bit flags field and a header extension; then
// each row as a 16-bit field count and, per field, a 32-bit length (-1:
// NULL) and that many bytes; then a count of -1. Everything big-endian.
// The server's messages need not end where rows do: what arrives is parsed
// as one stream, and a row cut by a message's end waits for the next.
//
// A stream that breaks the format is an SqlError, never a row read past
// what arrived.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "authsvc/store/sql_database.h"

namespace authsvc {

// One row of a binary COPY, valid during the call it is passed to. Binary
// fields carry no type: a column is read as the type the query gives it.
// int64() takes PostgreSQL's integers (2, 4 or 8 bytes); text_view() and
// bytes_into() a field's bytes as they are (text is UTF-8, the connection's
// encoding). value() is refused: it needs the column's type.
class PgBinaryRow : public SqlRow {
 public:
  bool is_null(int column) const override;
  std::int64_t int64(int column) const override;
  std::string text(int column) const override;
  std::vector<std::uint8_t> bytes(int column) const override;
  SqlParam value(int column) const override;
  std::string_view text_view(int column) const override;
  void bytes_into(int column, std::vector<std::uint8_t>& out) const override;

 private:
  friend class PgBinaryCopyParser;
  struct Field {
    const char* data = nullptr;  // null: NULL
    std::size_t size = 0;
  };
  const Field& field(int column) const;
  std::vector<Field> fields_;
};

// Takes a binary COPY's bytes as they arrive and passes each whole row to
// on_row, in order.
class PgBinaryCopyParser {
 public:
  explicit PgBinaryCopyParser(SqlRowFn on_row) : on_row_(std::move(on_row)) {}

  // The next bytes of the stream. Throws SqlError if they break the format,
  // or come after its end.
  void feed(std::span<const char> bytes);
  // After the last bytes: throws SqlError unless the stream ended with its
  // trailer, at the end of a row.
  void finish() const;
  std::size_t rows() const { return rows_; }

 private:
  // Parses what `bytes` holds whole (the header, rows, the trailer), and
  // returns how many bytes that was.
  std::size_t parse(std::span<const char> bytes);
  bool parse_header(std::span<const char> bytes, std::size_t& used);
  bool parse_row(std::span<const char> bytes, std::size_t& used);

  SqlRowFn on_row_;
  PgBinaryRow row_;
  // The start of a row (or of the header) that a message cut short.
  std::string pending_;
  bool header_done_ = false;
  bool ended_ = false;
  std::size_t rows_ = 0;
};

}  // namespace authsvc
