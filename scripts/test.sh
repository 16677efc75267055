#!/usr/bin/env bash
# Installs what is missing (a real RabbitMQ included), builds, and runs
# every test through CTest: unit tests, HTTP round trips, the CLI, and the
# end-to-end suites against a broker the tests start and stop themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
build_dir=${AUTHSVC_BUILD_DIR:-build}
jobs=$(scripts/test_jobs.sh)
cd "$build_dir"
# Extra arguments are ctest's (-R, -L...): a filter that selects nothing fails.
# Tests run side by side (scripts/test_jobs.sh says how many).
ctest --output-on-failure --timeout 900 --no-tests=error -j "$jobs" "$@"
