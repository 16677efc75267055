// `authsvc audit`: the audit lines an operator asks for, from audit logs
// (rotated, gzip-compressed ones too) or standard input, printed as they
// are, byte for byte, or counted (--summary). Every line read is checked:
// one that is not an audit line stops it (exit 1), naming its file and
// line, for a query over a log that is not what it seems answers nothing
// anyone should trust. What matches and how is audit_query.h's.
//
// A store event (a CLI or web change, its "event" number in the line) is
// shown once however often it is read: the exporter that takes over from
// one that died between writing events and marking them copies them again
// (README, "Several nodes"), and logs of nodes from before there was one
// exporter each hold every event. The first copy read is the one shown.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_set>

#include "authsvc/cli/command.h"
#include "authsvc/cli/log_file_reader.h"
#include "authsvc/core/audit_line_scan.h"
#include "authsvc/core/audit_query.h"
#include "authsvc/core/audit_summary.h"
#include "authsvc/core/error.h"
#include "authsvc/core/text.h"

namespace authsvc {
namespace {

struct AuditArgs {
  std::vector<std::string> files;
  std::optional<std::string> user;
  std::optional<std::string> decision;
  std::optional<std::string> rule;
  std::optional<std::string> endpoint;
  std::optional<std::string> node;
  std::optional<std::string> since;
  std::optional<std::string> until;
  bool summary = false;
};

// Standard output, written a large block at a time.
class Output {
 public:
  void append(std::string_view bytes) { buffer_.append(bytes); }
  void flush() {
    std::string_view rest = buffer_;
    while (!rest.empty()) {
      ssize_t n = ::write(STDOUT_FILENO, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        throw Error(std::string("cannot write to standard output: ") + std::strerror(errno));
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    buffer_.clear();
  }

 private:
  std::string buffer_;
};

AuditQuery query_of(const AuditArgs& args) {
  AuditQuery query;
  query.user = args.user;
  query.rule = args.rule;
  query.endpoint = args.endpoint;
  query.node = args.node;
  if (args.decision) query.decision = *args.decision == "allow" ? Verdict::allow : Verdict::deny;
  auto now = std::chrono::system_clock::now();
  auto bound = [&](const std::optional<std::string>& text, const char* option) {
    std::optional<std::int64_t> us;
    if (!text) return us;
    std::string error;
    us = parse_audit_time(*text, now, &error);
    if (!us) throw CLI::ValidationError(option, error);
    return us;
  };
  query.since_us = bound(args.since, "--since");
  query.until_us = bound(args.until, "--until");
  if (query.since_us && query.until_us && *query.since_us >= *query.until_us) {
    throw CLI::ValidationError("audit", "--since is not before --until: no line can match");
  }
  return query;
}

// Reads one file to its end, printing or counting what matches.
void read_file(LogFileReader& reader, const AuditQuery& query, AuditSummary* summary, Output* out,
               std::unordered_set<std::int64_t>& events_seen) {
  std::string error;
  std::size_t number = 0;
  for (std::string_view block = reader.next(); !block.empty(); block = reader.next()) {
    const char* p = block.data();
    const char* end = p + block.size();
    while (p < end) {
      auto newline = static_cast<const char*>(std::memchr(p, '\n', end - p));
      const char* line_end = newline ? newline : end;
      ++number;
      std::string_view line(p, line_end - p);
      std::optional<AuditLineView> view;
      // The reader hands out a line this long cut, or whole: either way
      // it is no audit line, which authsvc writes far shorter.
      if (line.size() >= LogFileReader::kMaxLine) {
        error = fmt::format("{} bytes or longer", LogFileReader::kMaxLine);
      } else {
        view = scan_audit_line(line, &error);
      }
      if (!view) {
        // What matched before the bad line is printed, as a stream would.
        out->flush();
        throw Error(
            fmt::format("{}:{}: not an audit line: {}", printable(reader.name()), number, error));
      }
      if (query.matches(*view) && (view->event == 0 || events_seen.insert(view->event).second)) {
        if (summary) {
          summary->add(*view);
        } else {
          out->append(line);
          out->append("\n");
        }
      }
      if (!newline) break;
      p = newline + 1;
    }
    // A block at a time, so that `tail -f audit.log | authsvc audit` shows
    // lines as they come.
    out->flush();
  }
}

int audit(const AuditArgs& args) {
  AuditQuery query = query_of(args);
  std::vector<std::string> files = args.files;
  if (files.empty()) {
    if (isatty(STDIN_FILENO)) {
      throw CLI::ValidationError("audit", "give the logs to read (FILES), or - for standard input");
    }
    files.push_back("-");
  }
  // Every file is opened before any is read: a mistyped name stops it
  // before it prints anything.
  for (const std::string& file : files) LogFileReader opened(file);

  std::optional<AuditSummary> summary;
  if (args.summary) summary.emplace();
  Output out;
  std::unordered_set<std::int64_t> events_seen;
  for (const std::string& file : files) {
    LogFileReader reader(file);
    read_file(reader, query, summary ? &*summary : nullptr, &out, events_seen);
  }
  if (summary) {
    out.append(summary->table());
    out.flush();
  }
  return 0;
}

}  // namespace

void add_audit_command(CLI::App& app, CommandLine& cli) {
  auto args = std::make_shared<AuditArgs>();
  CLI::App* audit_cmd = app.add_subcommand(
      "audit", "Print the audit log lines that match, as they are, or count them (--summary)");
  audit_cmd->footer(
      "FILES are read in the order given, gzip-compressed or not; with none, standard input.\n"
      "Conditions combine with AND. A line that is not an audit line stops it: exit 1, naming\n"
      "its file and line number. A store event (its \"event\" number) read twice, in two nodes'\n"
      "logs or one, is shown once.");
  audit_cmd->add_option("files", args->files,
                        "Audit logs, plain or gzip (rotated); - is standard input (the default)");
  audit_cmd->add_option("--user", args->user,
                        "The line's user: who asked, or the account acted on (every kind of line)");
  audit_cmd
      ->add_option("--decision", args->decision,
                   "deny: what was refused (decision lines' deny, web lines' denied); allow: "
                   "everything else")
      ->check(CLI::IsMember({"allow", "deny"}));
  audit_cmd->add_option("--rule", args->rule, "The rule that decided (decision lines only)");
  audit_cmd->add_option("--endpoint", args->endpoint,
                        "user, vhost, resource or topic (decision lines only)");
  audit_cmd->add_option("--node", args->node,
                        "The node that wrote the line (its --node-name); lines older than node "
                        "names have none");
  audit_cmd->add_option("--since", args->since,
                        "From this time on, inclusive: RFC 3339 (2026-11-27T23:00:00Z, "
                        "...+01:00), a date (its start in UTC), or a duration ago (2h, 7d)");
  audit_cmd->add_option("--until", args->until,
                        "Before this time, exclusive; the same forms as --since");
  audit_cmd->add_flag("--summary", args->summary,
                      "Print counts by user, rule and decision (and node, when the lines come "
                      "from several) instead of the lines");
  audit_cmd->callback([&cli, args] { cli.action = [args] { return audit(*args); }; });
}

}  // namespace authsvc
