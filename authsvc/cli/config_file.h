#pragma once
// `--config FILE`: the options of serve, guardian and web from a TOML file,
// a table a command ([serve], [guardian], [web]) whose keys are the long
// option names (`audit-log = "-"`), plus `db` for the global --db. The
// command line overrides the file; the file overrides the defaults and
// $AUTHSVC_DB. `serve --guardian` reads the guardian's options from [serve],
// since serve is the command that takes them.
//
// Every table of the file is checked, not only the running command's, so
// that one file serves all three and a typo anywhere in it stops each.
//
// Why toml++ and not CLI11's own config reader: CLI11 2.1's reader takes
// INI-ish TOML line by line, reports no line numbers, turns every value into
// a string (a quoted "8" and an 8 are the same to it) and silently accepts
// keys that mean nothing unless told otherwise, and then without saying
// where. toml++ is a full TOML parser that keeps each key's source position.
// CLI11 still applies the values (through its config hook, below), so that
// what the command line gives wins, and `needs`, `required`, the checks and
// the callbacks see the file's values exactly as if they had been typed.

#include "authsvc/core/error.h"

namespace CLI {
class App;
}

namespace authsvc {

// A config file that cannot be used. what() is one line: the file, the line
// where there is one, and what is wrong ("authsvc.toml:12: unknown key
// 'audit_log' in [serve]"); run_cli prints it and exits 1.
class ConfigFileError : public Error {
 public:
  using Error::Error;
};

// Adds --config to `app`, which holds serve, guardian and web, and the
// reader CLI11 calls once parsing has read the command line. app.parse()
// then throws ConfigFileError for a file it cannot use, and CLI::FileError
// for one it cannot open.
void add_config_option(CLI::App& app);

}  // namespace authsvc
