#include "authsvc/store/pg_binary_copy.h"

#include <fmt/format.h>

#include <cstring>

namespace authsvc {
namespace {

constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // and its terminating '\0'
constexpr std::size_t kSignatureSize = 11;

std::uint64_t big_endian(const char* p, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    value = value << 8 | static_cast<unsigned char>(p[i]);
  }
  return value;
}

std::int16_t int16_at(const char* p) {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(big_endian(p, 2)));
}
std::int32_t int32_at(const char* p) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(big_endian(p, 4)));
}

}  // namespace

const PgBinaryRow::Field& PgBinaryRow::field(int column) const {
  if (column < 0 || static_cast<std::size_t>(column) >= fields_.size()) {
    throw SqlError(fmt::format("no column {} in a row of {}", column, fields_.size()));
  }
  return fields_[static_cast<std::size_t>(column)];
}

bool PgBinaryRow::is_null(int column) const { return field(column).data == nullptr; }

std::int64_t PgBinaryRow::int64(int column) const {
  const Field& f = field(column);
  switch (f.data == nullptr ? 0 : f.size) {
    case 2:
      return int16_at(f.data);
    case 4:
      return int32_at(f.data);
    case 8:
      return static_cast<std::int64_t>(big_endian(f.data, 8));
    default:
      throw SqlError(fmt::format("column {} holds {}, not an integer", column,
                                 f.data == nullptr ? "NULL" : "another type"));
  }
}

std::string_view PgBinaryRow::text_view(int column) const {
  const Field& f = field(column);
  if (f.data == nullptr) throw SqlError(fmt::format("column {} holds NULL, not text", column));
  return {f.data, f.size};
}

std::string PgBinaryRow::text(int column) const { return std::string(text_view(column)); }

void PgBinaryRow::bytes_into(int column, std::vector<std::uint8_t>& out) const {
  const Field& f = field(column);
  if (f.data == nullptr) throw SqlError(fmt::format("column {} holds NULL, not bytes", column));
  const auto* data = reinterpret_cast<const std::uint8_t*>(f.data);
  out.assign(data, data + f.size);
}

std::vector<std::uint8_t> PgBinaryRow::bytes(int column) const {
  std::vector<std::uint8_t> out;
  bytes_into(column, out);
  return out;
}

SqlParam PgBinaryRow::value(int column) const {
  throw SqlError(fmt::format("column {} of a binary COPY has no type to read it as", column));
}

bool PgBinaryCopyParser::parse_header(std::span<const char> bytes, std::size_t& used) {
  constexpr std::size_t fixed = kSignatureSize + 4 + 4;
  if (bytes.size() < fixed) return false;
  if (std::memcmp(bytes.data(), kSignature, kSignatureSize) != 0) {
    throw SqlError("the COPY's data does not start with the binary format's signature");
  }
  auto flags = static_cast<std::uint32_t>(int32_at(bytes.data() + kSignatureSize));
  // Bits 16-31 change the format (bit 16: OIDs), and a reader must stop at
  // one it does not know; bits 0-15 do not, and are ignored.
  if ((flags & 0xffff0000u) != 0) {
    throw SqlError(fmt::format("the COPY's binary header has flags {:#x}", flags));
  }
  std::int32_t extension = int32_at(bytes.data() + kSignatureSize + 4);
  if (extension < 0) throw SqlError("the COPY's binary header has a negative extension length");
  if (bytes.size() - fixed < static_cast<std::size_t>(extension)) return false;
  used = fixed + static_cast<std::size_t>(extension);
  return true;
}

bool PgBinaryCopyParser::parse_row(std::span<const char> bytes, std::size_t& used) {
  if (bytes.size() < 2) return false;
  std::int16_t count = int16_at(bytes.data());
  if (count == -1) {
    ended_ = true;
    used = 2;
    return true;
  }
  if (count < 0) throw SqlError(fmt::format("a COPY row of {} fields", count));
  std::vector<PgBinaryRow::Field>& fields = row_.fields_;
  fields.resize(static_cast<std::size_t>(count));
  std::size_t at = 2;
  for (PgBinaryRow::Field& f : fields) {
    if (bytes.size() - at < 4) return false;
    std::int32_t size = int32_at(bytes.data() + at);
    at += 4;
    if (size == -1) {
      f = PgBinaryRow::Field{};
      continue;
    }
    if (size < 0) throw SqlError(fmt::format("a COPY field of length {}", size));
    if (bytes.size() - at < static_cast<std::size_t>(size)) return false;
    // A field of no bytes (an empty text) is not NULL: a pointer into the
    // row, never null.
    f = PgBinaryRow::Field{bytes.data() + at, static_cast<std::size_t>(size)};
    at += static_cast<std::size_t>(size);
  }
  used = at;
  on_row_(row_);
  ++rows_;
  return true;
}

std::size_t PgBinaryCopyParser::parse(std::span<const char> bytes) {
  std::size_t at = 0;
  std::size_t used = 0;
  if (!header_done_) {
    if (!parse_header(bytes, used)) return 0;
    header_done_ = true;
    at = used;
  }
  while (at < bytes.size()) {
    if (ended_) throw SqlError("the COPY sent data after its trailer");
    if (!parse_row(bytes.subspan(at), used)) break;
    at += used;
  }
  return at;
}

void PgBinaryCopyParser::feed(std::span<const char> bytes) {
  if (ended_ && !bytes.empty()) throw SqlError("the COPY sent data after its trailer");
  if (pending_.empty()) {
    // The usual case: whole rows, parsed where they arrived.
    std::size_t used = parse(bytes);
    pending_.assign(bytes.data() + used, bytes.size() - used);
    return;
  }
  pending_.append(bytes.data(), bytes.size());
  std::size_t used = parse(pending_);
  pending_.erase(0, used);
}

void PgBinaryCopyParser::finish() const {
  if (!ended_ || !pending_.empty()) {
    throw SqlError(fmt::format("the COPY ended without its trailer, after {} rows", rows_));
  }
}

}  // namespace authsvc
