#include "authsvc/store/pg_database.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <chrono>
#include <exception>
#include <memory>
#include <pqxx/pqxx>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "authsvc/store/pg_binary_copy.h"
#include "authsvc/store/wake_signal.h"

namespace authsvc {
namespace {

// libpqxx 6's connect_direct, remembering libpq's handle of the connection
// it makes: libpqxx keeps it to itself, and what only the handle tells is
// needed here. libpqxx turns a lost connection into "Could not obtain client
// encoding: not connected." and drops the server's reason, which
// PQerrorMessage() still has; and only PQtransactionStatus() tells whether
// a transaction is open, or failed (libpqxx does not see the BEGIN and
// COMMIT this class sends as text, below). A connection policy is libpqxx
// 6's own way to customize how it connects.
class RememberingPolicy : public pqxx::connect_direct {
 public:
  using connect_direct::connect_direct;
  handle do_startconnect(handle orig) override {
    return remember(connect_direct::do_startconnect(orig));
  }
  handle do_completeconnect(handle orig) override {
    return remember(connect_direct::do_completeconnect(orig));
  }
  handle do_dropconnect(handle orig) noexcept override {
    return remember(connect_direct::do_dropconnect(orig));
  }
  handle do_disconnect(handle orig) noexcept override {
    return remember(connect_direct::do_disconnect(orig));
  }
  PGconn* raw() const { return handle_; }

 private:
  handle remember(handle h) noexcept {
    handle_ = h;
    return h;
  }
  handle handle_ = nullptr;
};

// pqxx::connection, with the policy above: as basic_connection_base does,
// the base gets a reference to the policy before the policy is made, and
// uses it only in init().
class PqxxConnection : public pqxx::connection_base {
 public:
  explicit PqxxConnection(const std::string& options)
      : pqxx::connection_base(policy_), policy_(options) {
    init();
  }
  ~PqxxConnection() { close(); }  // connection_base's is not virtual
  PqxxConnection(const PqxxConnection&) = delete;
  PqxxConnection& operator=(const PqxxConnection&) = delete;
  PGconn* raw() const { return policy_.raw(); }

 private:
  RememberingPolicy policy_;
};

// The type of a result's column: OIDs fixed in PostgreSQL's catalog
// (pg_type.dat), the same in every version.
enum Oid : pqxx::oid {
  kBool = 16,
  kBytea = 17,
  kName = 19,
  kInt8 = 20,
  kInt2 = 21,
  kInt4 = 23,
  kText = 25,
  kUnknown = 705,
  kBpchar = 1042,
  kVarchar = 1043,
  kNumeric = 1700,
};

std::string type_name(pqxx::oid type) {
  switch (type) {
    case kBool:
      return "a boolean";
    case kBytea:
      return "bytes";
    case kInt2:
    case kInt4:
    case kInt8:
      return "an integer";
    case kNumeric:
      return "a numeric";
    case kName:
    case kText:
    case kUnknown:
    case kBpchar:
    case kVarchar:
      return "text";
    default:
      return fmt::format("a value of type oid {}", type);
  }
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The first line of a libpq or server message, without its severity
// ("ERROR:  ", "FATAL:  ", in any language): the later lines are DETAIL,
// which may quote a row's values (a token's hash), HINT, CONTEXT, or the
// statement with a caret.
std::string first_line(std::string_view message) {
  while (!message.empty() && (message.front() == '\n' || message.front() == ' ')) {
    message.remove_prefix(1);
  }
  message = trimmed(message.substr(0, message.find('\n')));
  std::size_t severity = message.find(":  ");
  if (severity != std::string_view::npos && severity > 0 && severity < 16) {
    bool word = true;
    for (char c : message.substr(0, severity)) {
      if (c == ' ' || c == '"' || c == '\'') word = false;
    }
    if (word) message = trimmed(message.substr(severity + 3));
  }
  return message.empty() ? std::string("(no message)") : std::string(message);
}

// Every line of libpq's message on a failed connection, in one: with
// several hosts, each says why it failed.
std::string one_line(std::string_view message) {
  std::string out;
  while (!message.empty()) {
    std::size_t end = message.find('\n');
    std::string_view line = trimmed(message.substr(0, end));
    if (!line.empty()) {
      if (!out.empty()) out += "; ";
      out += line;
    }
    if (end == std::string_view::npos) break;
    message.remove_prefix(end + 1);
  }
  return out.empty() ? std::string("(no message)") : out;
}

// libpq's message about a location it cannot parse, without what it quotes
// of the location (which might be a mistyped password).
std::string without_quotes(std::string_view message) {
  std::string out;
  bool quoted = false;
  for (char c : message) {
    if (c == '"') {
      if (!quoted) out += "\"...\"";
      quoted = !quoted;
    } else if (!quoted) {
      out += c;
    }
  }
  return out;
}

void append_option(std::string& out, std::string_view keyword, std::string_view value) {
  if (!out.empty()) out += ' ';
  out += keyword;
  out += "='";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '\'';
}

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

// The parameters as libpq takes them: text, NULL as a null pointer, letting
// the server infer each one's type from where it stands. Bytes go as
// bytea's hex text (\x...), which the server decodes where a bytea is
// expected.
class TextParams {
 public:
  explicit TextParams(const SqlParams& params) {
    values_.reserve(params.size());
    for (const SqlParam& param : params) {
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              values_.emplace_back(std::nullopt);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              values_.emplace_back(std::to_string(v));
            } else if constexpr (std::is_same_v<T, std::string>) {
              if (v.find('\0') != std::string::npos) {
                throw SqlError(
                    "a text parameter holds a NUL character, which PostgreSQL's text "
                    "cannot hold");
              }
              values_.emplace_back(v);
            } else {
              static constexpr char kHex[] = "0123456789abcdef";
              std::string hex = "\\x";
              hex.reserve(2 + 2 * v.bytes.size());
              for (std::uint8_t b : v.bytes) {
                hex += kHex[b >> 4];
                hex += kHex[b & 0xf];
              }
              values_.emplace_back(std::move(hex));
            }
          },
          param.value());
    }
    // Pointers only once every value is in place.
    pointers_.reserve(values_.size());
    for (const std::optional<std::string>& v : values_) {
      pointers_.push_back(v ? v->c_str() : nullptr);
    }
  }
  auto dynamic() const { return pqxx::prepare::make_dynamic_params(pointers_); }

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<const char*> pointers_;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class PgRow : public SqlRow {
 public:
  // The pqxx::row once, not for each column: each is a copy of the result's
  // shared pointers, and was a third of reading a million users.
  PgRow(const pqxx::result& result, pqxx::result::size_type row)
      : result_(result), row_(result[row]) {}

  bool is_null(int column) const override { return field(column).is_null(); }

  std::int64_t int64(int column) const override {
    pqxx::field f = field(column);
    if (f.is_null()) throw mismatch(f, "an integer");
    std::string_view text(f.c_str(), f.size());
    switch (f.type()) {
      case kInt2:
      case kInt4:
      case kInt8:
      // SUM() of a BIGINT is a NUMERIC in PostgreSQL: an integer if it has
      // no fraction and fits.
      case kNumeric: {
        std::int64_t value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size()) break;
        return value;
      }
      // SQLite's truth values are integers: a condition the store writes
      // once (EXISTS, a comparison) reads as 1 or 0 in both.
      case kBool:
        if (text == "t") return 1;
        if (text == "f") return 0;
        break;
      default:
        break;
    }
    throw mismatch(f, "an integer");
  }

  std::string text(int column) const override { return std::string(text_view(column)); }

  std::string_view text_view(int column) const override {
    pqxx::field f = field(column);
    if (f.is_null()) throw mismatch(f, "text");
    switch (f.type()) {
      case kText:
      case kVarchar:
      case kBpchar:
      case kName:
      case kUnknown:
        return std::string_view(f.c_str(), f.size());
      default:
        throw mismatch(f, "text");
    }
  }

  // bytea comes as text in its hex form, \x and two digits a byte (the
  // default since PostgreSQL 9.0, and what libpq's unescaping also takes):
  // decoded here into the caller's buffer, where PQunescapeBytea would
  // allocate for each value.
  void bytes_into(int column, std::vector<std::uint8_t>& out) const override {
    pqxx::field f = field(column);
    if (f.is_null() || f.type() != kBytea) throw mismatch(f, "bytes");
    std::string_view text(f.c_str(), f.size());
    if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) {
      pqxx::binarystring b(f);  // the older escape form
      out.assign(b.data(), b.data() + b.size());
      return;
    }
    out.resize((text.size() - 2) / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
      int high = hex_digit(text[2 + 2 * i]);
      int low = hex_digit(text[3 + 2 * i]);
      if (high < 0 || low < 0)
        throw SqlError(fmt::format("column {} is not bytea's hex", f.name()));
      out[i] = static_cast<std::uint8_t>(high << 4 | low);
    }
  }

  SqlParam value(int column) const override {
    pqxx::field f = field(column);
    if (f.is_null()) return SqlParam();
    switch (f.type()) {
      case kInt2:
      case kInt4:
      case kInt8:
        return SqlParam(int64(column));
      case kBytea:
        return SqlParam(SqlBytes{bytes(column)});
      default:
        return SqlParam(text(column));
    }
  }

  std::vector<std::uint8_t> bytes(int column) const override {
    std::vector<std::uint8_t> out;
    bytes_into(column, out);
    return out;
  }

 private:
  pqxx::field field(int column) const {
    if (column < 0 || static_cast<pqxx::row_size_type>(column) >= result_.columns()) {
      throw SqlError(fmt::format("no column {} in a result of {}", column, result_.columns()));
    }
    return row_[static_cast<pqxx::row::size_type>(column)];
  }

  static SqlError mismatch(const pqxx::field& f, const char* expected) {
    return SqlError(fmt::format("column {} holds {}, not {}", f.name(),
                                f.is_null() ? "NULL" : type_name(f.type()), expected));
  }

  const pqxx::result& result_;
  pqxx::row row_;
};

// At most this many statements are kept prepared per connection; past it,
// a new one is parsed at each call.
constexpr std::size_t kMaxPrepared = 256;

}  // namespace

// The connection, the statements prepared on it, and whether it was lost.
//
// Each call runs in a pqxx::nontransaction of its own, made for that call
// and gone before any row is handed to the caller (so that on_row may use
// the database again: libpqxx allows one transaction object at a time).
// Transactions are plain BEGIN, COMMIT and ROLLBACK sent as text: a
// transaction of this interface spans many calls, must begin as write
// transactions do here (with the advisory lock), and says whether it failed
// through PQtransactionStatus(). Holding a pqxx::work open across calls
// would give none of that, and still need a nontransaction for the calls
// made outside any transaction (schema_version() at open).
struct PgDatabase::Connection {
  explicit Connection(const std::string& options) : pq(options) {
    // libpqxx 6 reconnects a broken connection by itself at its next use,
    // and the statements after it would run outside the transaction they
    // were meant for. A lost connection is an error here, for good: `lost`
    // refuses every call after it, and this keeps libpqxx from reconnecting
    // should one of its calls find the connection broken anyway.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    pq.inhibit_reactivation(true);
#pragma GCC diagnostic pop
  }

  struct Prepared {
    std::string name;  // empty: not prepared (too many)
    PgStatement statement;
  };

  // The store's statement, as prepared on this connection (on first use).
  const Prepared& prepared(std::string_view sql) {
    auto it = statements.find(std::string(sql));
    if (it != statements.end()) return it->second;
    Prepared p{"", pg_numbered_placeholders(sql)};
    if (statements.size() >= kMaxPrepared) {
      unprepared = std::move(p);
      return unprepared;
    }
    p.name = fmt::format("authsvc_{}", statements.size() + 1);
    pq.prepare(p.name, p.statement.sql);  // sent to the server at its first use
    return statements.emplace(std::string(sql), std::move(p)).first->second;
  }

  void require_open() const {
    if (!lost.empty()) throw SqlError("the connection to the database was lost: " + lost);
  }

  PGTransactionStatusType transaction_status() const {
    PGconn* raw = pq.raw();
    return raw == nullptr ? PQTRANS_UNKNOWN : PQtransactionStatus(raw);
  }
  bool in_transaction() const {
    PGTransactionStatusType status = transaction_status();
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
  }

  // A libpqxx exception, as SqlError. `doing` is said if the connection was
  // lost meanwhile.
  [[noreturn]] void fail(std::string_view doing, const char* what) {
    PGconn* raw = pq.raw();
    if (raw == nullptr || PQstatus(raw) != CONNECTION_OK) {
      // libpq's reason (the server's FATAL message, or the socket's error)
      // rather than libpqxx's, which is about the encoding.
      std::string reason = raw != nullptr ? first_line(PQerrorMessage(raw)) : "(no message)";
      if (reason == "(no message)") reason = first_line(what);
      lost = reason;
      throw SqlError(fmt::format("the connection to the database was lost{}: {}", doing, reason));
    }
    throw SqlError(first_line(what));
  }

  // Runs `fn` (libpqxx calls), every exception of libpqxx or libpq turned
  // into a one-line SqlError.
  template <typename Fn>
  auto translated(std::string_view doing, Fn&& fn) {
    require_open();
    try {
      return fn();
    } catch (const pqxx::pqxx_exception& e) {
      fail(doing, e.base().what());
    }
  }

  // A statement of the store's, with its parameters.
  pqxx::result run(std::string_view sql, const SqlParams& params) {
    require_open();
    TextParams values(params);
    return translated("", [&] {
      const Prepared& p = prepared(sql);
      if (static_cast<std::size_t>(p.statement.count) != params.size()) {
        throw SqlError(
            fmt::format("the statement has {} placeholders, and {} parameters were given",
                        p.statement.count, params.size()));
      }
      pqxx::nontransaction t(pq);
      if (p.name.empty()) return t.exec_params(p.statement.sql, values.dynamic());
      return t.exec_prepared(p.name, values.dynamic());
    });
  }

  // Statements of this class's own, or a script: no parameters, any number
  // of statements.
  pqxx::result run_text(const std::string& sql, std::string_view doing = "") {
    return translated(doing, [&] {
      pqxx::nontransaction t(pq);
      return t.exec(sql);
    });
  }

  PqxxConnection pq;
  std::unordered_map<std::string, Prepared> statements;
  Prepared unprepared;
  // Why the connection was lost; empty while it is not.
  std::string lost;
  // data_version(): listening yet, and the changes announced since.
  bool listening = false;
  std::int64_t changes = 0;
  // `changes` as data_version() last returned it.
  std::int64_t reported = 0;
  std::uint64_t cursors = 0;
};

PgDatabase::PgDatabase(const std::string& location, const std::optional<std::string>& password) {
  std::string options = pg_connection_string(location, password);
  try {
    connection_ = std::make_unique<Connection>(options);
  } catch (const pqxx::pqxx_exception& e) {
    // libpq's words: each host and why it failed; never the password.
    throw SqlError(one_line(e.base().what()));
  }
}

PgDatabase::~PgDatabase() = default;

std::int64_t PgDatabase::exec(std::string_view sql, const SqlParams& params) {
  return static_cast<std::int64_t>(connection_->run(sql, params).affected_rows());
}

void PgDatabase::query(std::string_view sql, const SqlParams& params, const SqlRowFn& on_row) {
  pqxx::result result = connection_->run(sql, params);
  for (pqxx::result::size_type i = 0; i < result.size(); ++i) on_row(PgRow(result, i));
}

// A cursor, FETCHed kScanBatch rows at a time, in the caller's transaction
// (or, outside one, in a read transaction of its own: a cursor lives in a
// transaction).
void PgDatabase::scan(std::string_view sql, const SqlRowFn& on_row) {
  Connection& c = *connection_;
  c.require_open();
  bool own = !c.in_transaction();
  if (own) begin(SqlTransactionKind::read);
  std::string cursor = fmt::format("authsvc_scan_{}", ++c.cursors);
  try {
    // A cursor's plan is made for its first tenth by default
    // (cursor_tuple_fraction): nested loops of index lookups, which fetch
    // the first rows fast and all of them slowly. A scan reads them all.
    // SET LOCAL: until the transaction ends; its other cursors are scans too.
    c.run_text("SET LOCAL cursor_tuple_fraction = 1.0");
    c.run_text(fmt::format("DECLARE {} NO SCROLL CURSOR FOR {}", cursor, sql));
    std::string fetch = fmt::format("FETCH FORWARD {} FROM {}", kScanBatch, cursor);
    for (;;) {
      pqxx::result batch = c.run_text(fetch);
      for (pqxx::result::size_type i = 0; i < batch.size(); ++i) on_row(PgRow(batch, i));
      if (batch.size() < static_cast<pqxx::result::size_type>(kScanBatch)) break;
    }
    c.run_text("CLOSE " + cursor);
  } catch (...) {
    // on_row threw, or the database failed: the cursor goes, and with it
    // what it holds, unless the transaction is going anyway.
    if (own) {
      rollback();
    } else if (c.transaction_status() == PQTRANS_INTRANS) {
      try {
        c.run_text("CLOSE " + cursor);
      } catch (const SqlError&) {
        // The first failure is the one to tell.
      }
    }
    throw;
  }
  if (own) commit();
}

namespace {

// A cursor of the caller's transaction, FETCHed kScanBatch rows at a time
// as they are pulled.
class PgCursor : public SqlCursor {
 public:
  PgCursor(PgDatabase::Connection& c, std::string name)
      : c_(c),
        name_(std::move(name)),
        fetch_(fmt::format("FETCH FORWARD {} FROM {}", PgDatabase::kScanBatch, name_)) {}

  ~PgCursor() override {
    if (c_.transaction_status() != PQTRANS_INTRANS) return;  // gone with it
    try {
      c_.run_text("CLOSE " + name_);
    } catch (const SqlError&) {
      // The transaction fails or ends anyway; the cursor goes with it.
    }
  }

  const SqlRow* next() override {
    if (at_ == batch_.size()) {
      if (done_) return nullptr;
      row_.reset();
      batch_ = c_.run_text(fetch_);
      at_ = 0;
      done_ = batch_.size() < static_cast<pqxx::result::size_type>(PgDatabase::kScanBatch);
      if (batch_.empty()) return nullptr;
    }
    row_.emplace(batch_, at_++);
    return &*row_;
  }

 private:
  PgDatabase::Connection& c_;
  std::string name_;
  std::string fetch_;
  pqxx::result batch_;
  pqxx::result::size_type at_ = 0;
  bool done_ = false;
  std::optional<PgRow> row_;
};

}  // namespace

std::unique_ptr<SqlCursor> PgDatabase::open_cursor(std::string_view sql) {
  Connection& c = *connection_;
  c.require_open();
  if (!c.in_transaction()) throw SqlError("a cursor needs a transaction");
  std::string name = fmt::format("authsvc_scan_{}", ++c.cursors);
  c.run_text("SET LOCAL cursor_tuple_fraction = 1.0");  // as in scan()
  c.run_text(fmt::format("DECLARE {} NO SCROLL CURSOR FOR {}", name, sql));
  return std::make_unique<PgCursor>(c, std::move(name));
}

// COPY (sql) TO STDOUT in the binary format, through libpq itself:
// libpqxx 6's stream_from parses text rows into strings, a row at a time.
// libpqxx sees none of it, as it sees none of this class's BEGIN and COMMIT
// (sent as text); nothing else uses the connection meanwhile.
void PgDatabase::stream(std::string_view sql, const SqlRowFn& on_row) {
  Connection& c = *connection_;
  c.require_open();
  if (!c.in_transaction()) throw SqlError("a stream needs a transaction");
  PGconn* raw = c.pq.raw();
  using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;
  auto failure = [&](const char* what) -> SqlError {
    if (PQstatus(raw) != CONNECTION_OK) {
      c.lost = first_line(PQerrorMessage(raw));
      return SqlError("the connection to the database was lost: " + c.lost);
    }
    return SqlError(first_line(what));
  };
  // A stream is read once: compiling the query's expressions (PostgreSQL's
  // JIT, for a plan as costly as a join of every user) took longer than it
  // saved, 1.0 s against 0.82 s for a million users. Until the
  // transaction's end, as cursor_tuple_fraction in scan().
  c.run_text("SET LOCAL jit = off");
  std::string copy = fmt::format("COPY ({}) TO STDOUT (FORMAT binary)", sql);
  Result started(PQexec(raw, copy.c_str()), &PQclear);
  if (!started || PQresultStatus(started.get()) != PGRES_COPY_OUT) {
    throw failure(started ? PQresultErrorMessage(started.get()) : PQerrorMessage(raw));
  }
  PgBinaryCopyParser parser(on_row);
  // Until the server's end of the COPY, whatever happens: a connection
  // left in the middle of one takes no other statement. A row the caller
  // refuses (on_row threw) ends the reading, not the draining.
  std::exception_ptr refused;
  for (;;) {
    char* data = nullptr;
    int size = PQgetCopyData(raw, &data, 0);
    if (size == -1) break;  // the end: the COPY's own result follows
    if (size < 0) throw failure(PQerrorMessage(raw));
    std::unique_ptr<char, decltype(&PQfreemem)> owned(data, &PQfreemem);
    if (refused) continue;
    try {
      parser.feed({data, static_cast<std::size_t>(size)});
    } catch (...) {
      refused = std::current_exception();
    }
  }
  Result ended(PQgetResult(raw), &PQclear);
  bool ok = ended && PQresultStatus(ended.get()) == PGRES_COMMAND_OK;
  std::string why = ended ? PQresultErrorMessage(ended.get()) : PQerrorMessage(raw);
  while (Result rest{PQgetResult(raw), &PQclear}) {
  }
  if (!ok) throw failure(why.c_str());
  if (refused) std::rethrow_exception(refused);
  parser.finish();
}

void PgDatabase::exec_script(std::string_view sql) { connection_->run_text(std::string(sql)); }

// Read: one snapshot for all its reads (taken at its first statement, as
// SQLite's BEGIN takes its read lock). Write: READ COMMITTED, so that each
// statement after the lock sees every write committed before it was
// granted (a REPEATABLE READ snapshot would be taken by the lock's own
// SELECT, before the previous writer committed), and the advisory lock, so
// that writers go one at a time and audit event ids, drawn at insert, are
// in commit order. Both in one round trip.
void PgDatabase::begin(SqlTransactionKind kind) {
  Connection& c = *connection_;
  c.require_open();
  if (c.in_transaction()) throw SqlError("a transaction is already open (they do not nest)");
  try {
    c.run_text(kind == SqlTransactionKind::write
                   ? fmt::format("BEGIN; SELECT pg_advisory_xact_lock({})", kWriteLockKey)
                   : std::string("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  } catch (const SqlError&) {
    rollback();  // a failed wait for the lock leaves a failed transaction open
    throw;
  }
}

void PgDatabase::commit() {
  Connection& c = *connection_;
  c.require_open();
  switch (c.transaction_status()) {
    case PQTRANS_INTRANS:
      break;
    case PQTRANS_INERROR:
      // PostgreSQL would answer COMMIT with ROLLBACK, and no error.
      rollback();
      throw SqlError(
          "cannot commit: a statement of the transaction failed, and all of it was rolled back");
    default:
      throw SqlError("cannot commit: no transaction is open");
  }
  c.run_text("COMMIT", " while committing (whether the transaction was committed is not known)");
}

void PgDatabase::rollback() noexcept {
  Connection& c = *connection_;
  if (!c.lost.empty() || !c.in_transaction()) return;
  try {
    c.run_text("ROLLBACK");
  } catch (...) {
    // The connection is gone (and with it the transaction), and later
    // calls say so.
  }
}

// PostgreSQL has no PRAGMA user_version: the version is the one row of the
// table schema_version, this class's own (not a migration's, so that the
// migrations stay the twins of SQLite's, whose version is outside its
// tables). set_schema_version() creates it the first time, in the first
// migration's transaction; until then the version is 0.
int PgDatabase::schema_version() {
  if (query_int64("SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN 0 ELSE 1 END") !=
      1) {
    return 0;
  }
  return static_cast<int>(query_int64("SELECT MAX(version) FROM schema_version").value_or(0));
}

void PgDatabase::set_schema_version(int version) {
  if (query_int64("SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN 0 ELSE 1 END") !=
      1) {
    exec_script("CREATE TABLE schema_version (version INTEGER NOT NULL)");
  }
  exec_script(fmt::format(
      "DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ({})", version));
}

// The tables of the schema the connection works in (the first of its
// search path), but the schema version's own.
std::vector<std::string> PgDatabase::table_names() {
  std::vector<std::string> names;
  query(
      "SELECT c.relname::text FROM pg_class c "
      "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
      "AND c.relname <> 'schema_version' ORDER BY c.relname",
      {}, [&](const SqlRow& row) { names.push_back(row.text(0)); });
  return names;
}

std::vector<std::string> PgDatabase::column_names(const std::string& table) {
  std::vector<std::string> names;
  query(
      "SELECT a.attname::text FROM pg_attribute a "
      "JOIN pg_class c ON c.oid = a.attrelid "
      "WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ? "
      "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      {table}, [&](const SqlRow& row) { names.push_back(row.text(0)); });
  return names;
}

// Starts listening at the first call; then takes in what the server sent
// meanwhile, without waiting, and counts the notices of other connections.
// A closed socket shows here as a lost connection.
void PgDatabase::take_notices() {
  Connection& c = *connection_;
  c.require_open();
  if (!c.listening) {
    c.run_text(fmt::format("LISTEN {}", kChangeChannel));
    c.listening = true;
  }
  PGconn* raw = c.pq.raw();
  if (raw == nullptr || PQconsumeInput(raw) == 0) {
    c.fail(" while listening for changes", raw != nullptr ? PQerrorMessage(raw) : "");
  }
  int own = PQbackendPID(raw);
  while (PGnotify* notice = PQnotifies(raw)) {
    // Its own changes are no news to a connection.
    if (notice->be_pid != own) ++c.changes;
    PQfreemem(notice);
  }
}

std::int64_t PgDatabase::data_version() {
  take_notices();
  connection_->reported = connection_->changes;
  return connection_->changes;
}

// poll() on the connection's socket and the wake signal together: a NOTIFY
// wakes the caller as soon as it arrives, where polling data_version()
// would see it only at the next poll.
bool PgDatabase::wait_for_change(std::chrono::milliseconds timeout, int wake_fd) {
  Connection& c = *connection_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    take_notices();  // also what arrived before the wait: not waited for
    if (c.changes != c.reported) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    int fds[2] = {wake_fd, PQsocket(c.pq.raw())};
    if (fds[1] < 0) c.fail(" while listening for changes", PQerrorMessage(c.pq.raw()));
    try {
      int ready = wait_readable(fds, 2, left);
      // Other traffic (a server's parameter status), or the socket closing:
      // take_notices() above reads it, and fails for a closed one.
      if (ready != 1) return false;
    } catch (const std::system_error& e) {
      throw SqlError(fmt::format("cannot wait for changes: {}", e.what()));
    }
  }
}

void PgDatabase::announce_change(std::string_view what) {
  exec("SELECT pg_notify(?, ?)", {kChangeChannel, what});
}

std::string pg_connection_string(std::string_view location,
                                 const std::optional<std::string>& password) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(std::string(location).c_str(), &error);
  if (parsed == nullptr) {
    std::string message = error != nullptr ? first_line(error) : "out of memory";
    PQfreemem(error);
    throw SqlError("cannot read the database location: " + without_quotes(message));
  }
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options(parsed, PQconninfoFree);
  // What authsvc sets unless the location does. A database that vanishes
  // without closing the connection (a host gone, a network cut) sends no
  // error: the keepalives make the connection fail within about a minute,
  // so that a node says its snapshot is stale, and reconnects, rather than
  // wait on a dead socket until the kernel gives up (hours).
  struct Default {
    std::string_view keyword;
    std::string_view value;
    bool given = false;
  };
  std::array<Default, 7> defaults = {{{"connect_timeout", "5"},
                                      {"fallback_application_name", "authsvc"},
                                      {"client_encoding", "UTF8"},
                                      {"keepalives", "1"},
                                      {"keepalives_idle", "30"},
                                      {"keepalives_interval", "10"},
                                      {"keepalives_count", "3"}}};
  std::string out;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string_view keyword = o->keyword;
    if (keyword == "password" || keyword == "sslpassword") {
      throw SqlError(fmt::format(
          "the database location carries a password ({}), which would be seen on command lines "
          "and in logs: give it in a password file instead",
          keyword));
    }
    for (Default& d : defaults) d.given = d.given || keyword == d.keyword;
    append_option(out, keyword, o->val);
  }
  for (const Default& d : defaults) {
    if (!d.given) append_option(out, d.keyword, d.value);
  }
  if (password) append_option(out, "password", *password);
  return out;
}

PgStatement pg_numbered_placeholders(std::string_view sql) {
  PgStatement out;
  out.sql.reserve(sql.size() + 16);
  std::size_t i = 0;
  const std::size_t n = sql.size();
  // Copies sql[i] up to and including the first `end` from `from` on.
  auto copy_through = [&](std::size_t from, std::string_view end) {
    std::size_t stop = sql.find(end, from);
    stop = stop == std::string_view::npos ? n : stop + end.size();
    out.sql.append(sql.substr(i, stop - i));
    i = stop;
  };
  while (i < n) {
    char c = sql[i];
    char next = i + 1 < n ? sql[i + 1] : '\0';
    bool after_identifier = i > 0 && is_identifier_char(sql[i - 1]);
    if (c == '\'') {
      // '' inside is the end of one literal and the start of the next.
      bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                     !(i > 1 && is_identifier_char(sql[i - 2]));
      std::size_t j = i + 1;
      while (j < n && sql[j] != '\'') j += escapes && sql[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, n);
      out.sql.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '"') {
      copy_through(i + 1, "\"");
    } else if (c == '-' && next == '-') {
      copy_through(i + 2, "\n");
    } else if (c == '/' && next == '*') {
      // Block comments nest in PostgreSQL.
      std::size_t j = i + 2;
      int depth = 1;
      while (j < n && depth > 0) {
        if (sql[j] == '/' && j + 1 < n && sql[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (sql[j] == '*' && j + 1 < n && sql[j + 1] == '/') {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      }
      out.sql.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '$' && !after_identifier) {
      // $tag$...$tag$ (or $$...$$); $1 and a lone $ are copied as they are.
      std::size_t j = i + 1;
      while (j < n && is_identifier_char(sql[j]) && sql[j] != '$') ++j;
      bool tag = j < n && sql[j] == '$' && !(next >= '0' && next <= '9');
      if (tag) {
        copy_through(j + 1, sql.substr(i, j + 1 - i));
      } else {
        out.sql += c;
        ++i;
      }
    } else if (c == '?') {
      out.sql += fmt::format("${}", ++out.count);
      ++i;
    } else {
      out.sql += c;
      ++i;
    }
  }
  return out;
}

}  // namespace authsvc
