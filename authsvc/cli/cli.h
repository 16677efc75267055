#pragma once
// The `authsvc` command line. Exit codes: 0 success, 1 failure (one line on
// stderr), 2 usage error.

namespace authsvc {

int run_cli(int argc, char** argv);

}  // namespace authsvc
