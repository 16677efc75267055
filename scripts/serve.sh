#!/usr/bin/env bash
# A newcomer's first run: installs what is missing, builds, and starts
# authsvc on 127.0.0.1:8000 with an embedded SQLite database
# (./authsvc.db, or $AUTHSVC_DB). Extra arguments go to `authsvc serve`.
#
#   scripts/serve.sh
#   build/authsvc/authsvc user add alice --owner alice@example.org   # in another shell
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
# serve refuses a missing database (a mistyped --db must not serve nobody);
# init creates it the first time and is a no-op after.
build/authsvc/authsvc init
exec build/authsvc/authsvc serve "$@"
